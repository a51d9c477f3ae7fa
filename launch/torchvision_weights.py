"""Moves weights between torchvision and cnn-dist, as safetensors files (the README's fine-tuning walk-through).

  export MODEL OUT [--weights NAME]   a torchvision model's state dict, e.g. resnet18 with
                                      --weights IMAGENET1K_V1 (downloads; without it, torchvision's
                                      random initialisation, for machines offline)
  check MODEL WEIGHTS VAL_DIR [--resize R --crop C]
                                      loads cnn-dist's model.safetensors into torchvision's MODEL with
                                      load_state_dict(strict=True) and reports its top-1 accuracy on an
                                      image folder (VAL_DIR/<class>/*), with torchvision's Resize,
                                      CenterCrop and ImageNet normalisation

Run with the peers' Python (../shared/peers/setup.sh): ~/.cache/cnn-dist-peers/bin/python.
"""
import argparse
import os
import sys

import torch
import torchvision
from safetensors.torch import load_file, save_file
from torchvision import transforms


def export(args):
    model = getattr(torchvision.models, args.model)(weights=args.weights)
    # safetensors wants contiguous tensors; num_batches_tracked stays int64 (cnn-dist reads it).
    state = {name: tensor.contiguous() for name, tensor in model.state_dict().items()}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    save_file(state, args.out)
    print(f"{args.out}: {len(state)} tensors of torchvision {args.model} (weights {args.weights})")


def check(args):
    state = load_file(args.weights)
    classes = state["fc.weight"].shape[0] if "fc.weight" in state else state["classifier.6.weight"].shape[0]
    model = getattr(torchvision.models, args.model)(weights=None, num_classes=classes)
    result = model.load_state_dict(state, strict=True)
    print(f"{args.weights}: loaded into torchvision {args.model} ({classes} classes), strict: {result}")
    model.eval()
    transform = transforms.Compose([
        transforms.Resize(args.resize), transforms.CenterCrop(args.crop), transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    folder = torchvision.datasets.ImageFolder(args.val_dir, transform=transform)
    loader = torch.utils.data.DataLoader(folder, batch_size=32)
    correct = 0
    with torch.no_grad():
        for images, labels in loader:
            correct += (model(images).argmax(1) == labels).sum().item()
    print(f"torchvision top-1 on {args.val_dir}: {100 * correct / len(folder):.2f}% ({correct}/{len(folder)})")


parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
commands = parser.add_subparsers(dest="command", required=True)
e = commands.add_parser("export")
e.add_argument("model")
e.add_argument("out")
e.add_argument("--weights", default=None)
c = commands.add_parser("check")
c.add_argument("model")
c.add_argument("weights")
c.add_argument("val_dir")
c.add_argument("--resize", type=int, default=128)
c.add_argument("--crop", type=int, default=112)
arguments = parser.parse_args()
export(arguments) if arguments.command == "export" else check(arguments)
sys.exit(0)
