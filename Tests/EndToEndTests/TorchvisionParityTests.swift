import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Checkpoint
@testable import NN
@testable import TensorCore
@testable import Train

/// Zoo models load into their PyTorch reference with load_state_dict(strict=True) and compute
/// the same logits: torchvision's model of the same name (num_classes=10; googlenet with
/// aux_logits=False, transform_input=False), or ../shared/peers/models.py's LeNet5 and
/// ResNetCifar. The weights go through a safetensors file as SafeTensors.encode writes it.
///
/// To exercise more than PyTorch's default initialisation would, the BatchNorm2d layers get
/// random affine parameters and running statistics (and num_batches_tracked 7, a Float here and
/// int64 in torch), and convolution and linear weights are scaled up (by √6, Kaiming's gain,
/// without shortcuts; by √3 in ResNets) so the signal reaches the logits instead of fading into
/// the last bias. Both sides then run in evaluation mode on the same input, and the check
/// requires the two inputs' logits to differ by far more than the tolerance. Models without
/// dropout also run one training-mode forward (batch statistics), compared against PyTorch in
/// float64 along with the running statistics it leaves behind.
///
/// Needs the peers' Python environment with torchvision (../shared/peers/setup.sh, or PEERS);
/// skipped, saying so, without it. By default a representative set at small inputs;
/// ZOO_PARITY=all compares every zoo model, ZOO_PARITY=name,name… the ones named.
final class TorchvisionParityTests: XCTestCase {
    static let representative = ["lenet5", "alexnet", "vgg11_bn", "googlenet", "resnet18", "resnet50", "resnet20"]

    /// A max-abs difference of 1e-4, relative to the logits' magnitude where that is above 1.
    static func tolerance(scale: Double) -> Double { 1e-4 * max(1, scale) }

    static let script = """
    import copy, json, sys, torch, torchvision
    sys.path.insert(0, sys.argv[1])
    from models import LeNet5, ResNetCifar
    from safetensors.torch import load_file
    torch.set_num_threads(2)
    directory = sys.argv[2]

    def build(name):
        if name == "lenet5":
            return LeNet5(classes=10)
        if name in ("resnet20", "resnet32", "resnet44", "resnet56", "resnet110"):
            return ResNetCifar(n=(int(name[6:]) - 2) // 6, classes=10)
        extra = dict(aux_logits=False, transform_input=False, init_weights=False) if name == "googlenet" else {}
        return getattr(torchvision.models, name)(weights=None, num_classes=10, **extra)

    def max_diff(a, b):
        return (a.double() - b.double()).abs().max().item()

    for name in sys.argv[3:]:
        report = {"model": name}
        try:
            state = load_file(f"{directory}/{name}.state.safetensors")
            io = load_file(f"{directory}/{name}.io.safetensors")
            model = build(name)
            result = model.load_state_dict(state, strict=True)
            report["missing"], report["unexpected"] = result.missing_keys, result.unexpected_keys
            loaded = model.state_dict()
            report["num_batches_tracked"] = sorted({f"{v.dtype}={v.item()}" for k, v in loaded.items()
                                                    if k.endswith("num_batches_tracked")})
            # PyTorch in float64 on the same state: how far float32 rounding alone moves the logits.
            exact = copy.deepcopy(model).double()
            x = io["input"]
            with torch.no_grad():
                logits, reference = model.eval()(x), exact.eval()(x.double())
                report["eval_diff"] = max_diff(logits, io["eval_logits"])
                report["eval_diff_f64"] = max_diff(reference, io["eval_logits"])
                report["torch_eval_diff_f64"] = max_diff(reference, logits)
                report["eval_scale"] = logits.abs().max().item()
                report["eval_spread"] = (logits[0] - logits[1]).abs().max().item()
                if "train_logits" in io:
                    logits, reference = model.train()(x), exact.train()(x.double())
                    report["train_diff"] = max_diff(logits, io["train_logits"])
                    report["train_diff_f64"] = max_diff(reference, io["train_logits"])
                    report["torch_train_diff_f64"] = max_diff(reference, logits)
                    report["train_scale"] = logits.abs().max().item()
                    # Running statistics after that forward, relative to their size where above 1.
                    ours = {k[6:]: v for k, v in io.items() if k.startswith("after.")}
                    single, exact_state = model.state_dict(), exact.state_dict()
                    def buffers_diff(state):
                        return max((max_diff(state[k], exact_state[k]) / max(1.0, exact_state[k].abs().max().item())
                                    for k in ours), default=0.0)
                    report["buffers_diff_f64"] = buffers_diff(ours)
                    report["torch_buffers_diff_f64"] = buffers_diff(single)
        except Exception as error:
            report["error"] = f"{type(error).__name__}: {error}"
        print(json.dumps(report), flush=True)
    """

    func testZooModelsLoadStrictlyIntoTorchvisionWithTheSameLogits() throws {
        guard let python = PyTorchInteropTests.peersPython else {
            throw XCTSkip("PyTorch peers not installed (run ../shared/peers/setup.sh, or set PEERS): torchvision parity skipped")
        }
        let probe = try ProcessRunner.run(python, ["-c", "import torch, torchvision, safetensors"], timeout: 120)
        guard probe.status == 0 else {
            throw XCTSkip("torchvision or safetensors missing from the peers environment at \(python): torchvision parity skipped")
        }
        let selection = ProcessInfo.processInfo.environment["ZOO_PARITY"] ?? ""
        let names = selection.isEmpty ? Self.representative
            : selection == "all" ? ModelZoo.names : selection.split(separator: ",").map(String.init)
        let directory = ProcessRunner.temporaryDirectory("parity")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var hasTrainingPass: [String: Bool] = [:]
        for name in names { hasTrainingPass[name] = try writeModel(name, into: directory) }

        let peers = TrainingFixtures.repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/peers").path
        let result = try ProcessRunner.run(python, ["-c", Self.script, peers, directory] + names, timeout: 600)
        XCTAssertEqual(result.status, 0, result.error)
        let reports = result.output.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        XCTAssertEqual(reports.map { $0["model"] as? String }, names, result.output + result.error)
        for report in reports {
            let name = report["model"] as? String ?? "?"
            print("parity \(name): \(report)")
            if let error = report["error"] as? String {
                XCTFail("\(name): \(error)")
                continue
            }
            XCTAssertEqual(report["missing"] as? [String], [], name)
            XCTAssertEqual(report["unexpected"] as? [String], [], name)
            let batchNorm = try XCTUnwrap(report["num_batches_tracked"] as? [String], name)
            XCTAssertTrue(batchNorm.isEmpty || batchNorm == ["torch.int64=7"], "\(name): \(batchNorm)")
            let scale = try XCTUnwrap(report["eval_scale"] as? Double, name)
            XCTAssertLessThanOrEqual(try XCTUnwrap(report["eval_diff"] as? Double), Self.tolerance(scale: scale), name)
            // The logits depend on the input well beyond the tolerance: the comparison means something.
            XCTAssertGreaterThan(try XCTUnwrap(report["eval_spread"] as? Double), 10 * Self.tolerance(scale: scale), name)
            if hasTrainingPass[name] == true {
                // Batch statistics over few values (2x2 maps in layer4 at 64x64) magnify rounding:
                // against PyTorch in float64, within the tolerance or a small multiple of PyTorch's
                // own float32 error.
                let trainScale = try XCTUnwrap(report["train_scale"] as? Double, name)
                let torchError = try XCTUnwrap(report["torch_train_diff_f64"] as? Double, name)
                XCTAssertLessThanOrEqual(try XCTUnwrap(report["train_diff_f64"] as? Double),
                                         max(Self.tolerance(scale: trainScale), 4 * torchError), name)
                let torchBuffersError = try XCTUnwrap(report["torch_buffers_diff_f64"] as? Double, name)
                XCTAssertLessThanOrEqual(try XCTUnwrap(report["buffers_diff_f64"] as? Double),
                                         max(1e-4, 4 * torchBuffersError), name)
            }
        }
    }

    /// Writes `name`.state.safetensors (its initialised, perturbed parameters and buffers) and
    /// `name`.io.safetensors (input, eval logits; training-mode logits and the buffers after
    /// that forward where the model has no dropout). Returns whether it ran the training pass.
    func writeModel(_ name: String, into directory: String) throws -> Bool {
        let size = name == "lenet5" ? 28 : ModelZoo.defaultInputShape(name)[1] == 32 ? 32 : 64
        let channels = ModelZoo.defaultInputShape(name)[0]
        let model = try ModelZoo.make(name, inputShape: [channels, size, size], classes: 10)
        model.initializeParameters(seed: 21)
        let layers = Self.allLayers(model.network)
        // Default init multiplies the variance by 1/3 a layer: √6 makes it 2 (Kaiming's gain for
        // ReLU networks); with shortcuts √3 (1), so that residual sums do not grow a block at a time.
        let gain = Float(layers.contains { $0 is Residual } ? 3 : 6).squareRoot()
        var random = RandomGenerator(seed: 22)
        for layer in layers {
            if let conv = layer as? Conv2d { Self.scale(conv.weight.value, by: gain) }
            if let linear = layer as? Linear { Self.scale(linear.weight.value, by: gain) }
            if let bn = layer as? BatchNorm2d {
                for (tensor, low, high) in [(bn.weight.value, 0.5, 1.5), (bn.bias.value, -0.2, 0.2),
                                            (bn.runningMean, -0.2, 0.2), (bn.runningVar, 0.5, 2.0)] as [(Tensor, Float, Float)] {
                    for i in 0..<tensor.count { tensor.pointer[i] = random.uniform(low, high) }
                }
                bn.numBatchesTracked.fill(7)
            }
        }
        let state = model.namedParameters().map { ($0.name, $0.parameter.value) } + model.namedBuffers().map { ($0.name, $0.tensor) }
        try Self.write(state, to: directory + "/\(name).state.safetensors")

        let input = Tensor(shape: [2, channels, size, size])
        for i in 0..<input.count { input.pointer[i] = Float(sin(Double(i) * 0.37 + 0.1)) }
        model.setTraining(false)
        let evalLogits = model.forward(input).clone()
        var io = [("input", input), ("eval_logits", evalLogits)]
        let training = !layers.contains { $0 is Dropout }
        if training {
            model.setTraining(true)
            io.append(("train_logits", model.forward(input).clone()))
            io += model.namedBuffers().map { ("after." + $0.name, $0.tensor) }
        }
        try Self.write(io, to: directory + "/\(name).io.safetensors")
        return training
    }

    static func write(_ tensors: [(String, Tensor)], to path: String) throws {
        let bytes = SafeTensors.encode(tensors: tensors.map { ($0.0, $0.1.shape, UnsafeBufferPointer($0.1.buffer)) }, metadata: [:])
        try bytes.write(to: URL(fileURLWithPath: path))
    }

    static func scale(_ tensor: Tensor, by factor: Float) {
        for i in 0..<tensor.count { tensor.pointer[i] *= factor }
    }

    /// Every layer of the tree, containers included, parents first.
    static func allLayers(_ layer: Layer) -> [Layer] {
        [layer] + layer.children.flatMap { allLayers($0.layer) }
    }
}
