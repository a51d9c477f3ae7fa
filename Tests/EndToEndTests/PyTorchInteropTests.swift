import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Checkpoint
@testable import NN
@testable import TensorCore
@testable import Train

/// A cnn-dist checkpoint loads into PyTorch as the README says (safetensors.torch.load_file,
/// drop the `optimizer.` entries, load_state_dict(strict=True) into ../shared/peers/models.py's
/// LeNet5) and computes the same logits. Needs the peers' Python environment
/// (../shared/peers/setup.sh); skipped, saying so, without it.
final class PyTorchInteropTests: XCTestCase {
    static var peersPython: String? {
        let environment = ProcessInfo.processInfo.environment
        let root = environment["PEERS"] ?? (NSHomeDirectory() + "/.cache/cnn-dist-peers")
        let python = root + "/bin/python"
        return FileManager.default.isExecutableFile(atPath: python) ? python : nil
    }

    func testLeNetCheckpointLoadsStrictlyIntoPyTorchWithTheSameLogits() throws {
        guard let python = Self.peersPython else {
            throw XCTSkip("PyTorch peers not installed (run ../shared/peers/setup.sh, or set PEERS): interop test skipped")
        }
        let peers = TrainingFixtures.repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/peers").path
        let directory = ProcessRunner.temporaryDirectory("interop")
        var config = TrainingFixtures.smallSynthetic(runDirectory: directory)
        config.training.maxSteps = 7
        try TrainingLauncher.run(config: config, log: { _ in })
        let checkpoint = directory + "/checkpoints/step-000000007.safetensors"

        // Our logits for a fixed batch of 4 inputs.
        let file = try CheckpointFile.load(path: checkpoint)
        let model = try ModelZoo.make("lenet5", inputShape: [1, 28, 28], classes: 10)
        try ModelStateLoader.loadWeights(file.file, path: checkpoint, into: model)
        model.setTraining(false)
        let input = Tensor(shape: [4, 1, 28, 28])
        for i in 0..<input.count { input.pointer[i] = Float(sin(Double(i) * 0.37)) }
        let logits = model.forward(input)
        let io = directory + "/io.safetensors"
        let bytes = SafeTensors.encode(tensors: [("input", input.shape, UnsafeBufferPointer(input.buffer)),
                                                 ("logits", logits.shape, UnsafeBufferPointer(logits.buffer))], metadata: [:])
        try bytes.write(to: URL(fileURLWithPath: io))

        let script = """
        import json, sys, torch
        sys.path.insert(0, sys.argv[1])
        from models import LeNet5
        from safetensors.torch import load_file
        state = load_file(sys.argv[2])
        momentum = [k for k in state if k.startswith("optimizer.")]
        weights = {k: v for k, v in state.items() if not k.startswith("optimizer.")}
        model = LeNet5()
        result = model.load_state_dict(weights, strict=True)
        io = load_file(sys.argv[3])
        with torch.no_grad():
            logits = model.eval()(io["input"])
        print(json.dumps({"missing": result.missing_keys, "unexpected": result.unexpected_keys,
                          "momentum": len(momentum), "tensors": len(weights),
                          "max_abs_diff": (logits - io["logits"]).abs().max().item()}))
        """
        let result = try ProcessRunner.run(python, ["-c", script, peers, checkpoint, io], timeout: 300)
        XCTAssertEqual(result.status, 0, result.error)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any], result.output)
        XCTAssertEqual(report["missing"] as? [String], [])
        XCTAssertEqual(report["unexpected"] as? [String], [])
        XCTAssertEqual(report["tensors"] as? Int, 10)
        XCTAssertEqual(report["momentum"] as? Int, 10)
        XCTAssertLessThan(try XCTUnwrap(report["max_abs_diff"] as? Double), 1e-4, result.output)
    }

    /// A torchvision state dict exactly as PyTorch saves it (BatchNorm's num_batches_tracked in
    /// int64) loads with --init-from: the first weights of the run are torchvision's.
    func testTorchvisionStateDictWithInt64BuffersLoadsWithInitFrom() throws {
        guard let python = Self.peersPython else {
            throw XCTSkip("PyTorch peers not installed (../shared/peers/setup.sh, or PEERS): import test skipped")
        }
        let directory = ProcessRunner.temporaryDirectory("torchvision-import")
        let weights = directory + "/resnet18.safetensors"
        let export = try ProcessRunner.run(python, ["-c", """
            import torch, torchvision
            from safetensors.torch import save_file
            torch.manual_seed(0)
            model = torchvision.models.resnet18(weights=None, num_classes=10)
            state = model.state_dict()
            assert state["bn1.num_batches_tracked"].dtype == torch.int64
            save_file(state, "\(weights)")
            """], timeout: 120)
        XCTAssertEqual(export.status, 0, export.error)
        let binary = ProcessRunner.product("cnn-dist")
        let data = directory + "/cifar"
        let generate = ["data", "generate-cifar10", "-o", data, "--train", "20", "--test", "8"]
        XCTAssertEqual(try ProcessRunner.run(binary, generate, timeout: 60).status, 0)
        let train = ["train", "--dataset", "cifar10", "--data", data, "--model", "resnet18", "--max-steps", "0",
                     "--batch-size", "4", "--init-from", weights, "--run-dir", directory + "/run"]
        let run = try ProcessRunner.run(binary, train, timeout: 300)
        XCTAssertEqual(run.status, 0, run.error)
        let loaded = try CheckpointFile.load(path: directory + "/run/checkpoints/step-000000000.safetensors")
        let torchvision = try SafeTensors.read(path: weights)
        XCTAssertEqual(loaded.file["conv1.weight"]?.values, torchvision["conv1.weight"]?.values)
        XCTAssertEqual(loaded.file["bn1.num_batches_tracked"]?.values, [0])
    }
}
