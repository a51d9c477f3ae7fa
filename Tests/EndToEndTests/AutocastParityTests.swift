import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Checkpoint
@testable import NN
@testable import Optim
@testable import TensorCore

/// One bf16 training step of LeNet-5 from fixed weights against PyTorch's
/// torch.autocast("cpu", dtype=torch.bfloat16) with the same SGD: every parameter after the step,
/// and every parameter's update, agree to 1e-2 relative. Needs the peers' Python environment
/// (../shared/peers/setup.sh); skipped, saying so, without it.
final class AutocastParityTests: XCTestCase {
    func testOneBFloat16StepMatchesPyTorchAutocast() throws {
        guard let python = PyTorchInteropTests.peersPython else {
            throw XCTSkip(
                "PyTorch peers not installed (run ../shared/peers/setup.sh, or set PEERS): autocast parity "
                    + "test skipped")
        }
        let peers = TrainingFixtures.repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/peers")
            .path
        let directory = ProcessRunner.temporaryDirectory("autocast")
        let model = try ModelZoo.make("lenet5", inputShape: [1, 28, 28], classes: 10)
        model.initializeParameters(seed: 5)
        model.setPrecision(.bf16)
        let batch = 16
        let input = Tensor(shape: [batch, 1, 28, 28])
        for i in 0..<input.count { input.pointer[i] = Float(sin(Double(i) * 0.37) + 0.3 * cos(Double(i) * 0.011)) }
        let labels = (0..<batch).map { Int32(($0 * 7) % 10) }
        let initial = model.namedParameters().map { ($0.name, $0.parameter.value.clone()) }

        let loss = SoftmaxCrossEntropy()
        let result = loss.forward(logits: model.forward(input), labels: labels)
        model.backward(loss.gradient)
        let options = SGD.Options(learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4)
        SGD(parameters: model.namedParameters(), options: options).step()

        var tensors: [(String, [Int], UnsafeBufferPointer<Float>)] = [
            ("input", input.shape, UnsafeBufferPointer(input.buffer))
        ]
        let labelTensor = Tensor(shape: [batch], values: labels.map(Float.init))
        tensors.append(("labels", [batch], UnsafeBufferPointer(labelTensor.buffer)))
        for (name, value) in initial {
            tensors.append(("initial." + name, value.shape, UnsafeBufferPointer(value.buffer)))
        }
        for (name, parameter) in model.namedParameters() {
            tensors.append(("after." + name, parameter.value.shape, UnsafeBufferPointer(parameter.value.buffer)))
        }
        let io = directory + "/step.safetensors"
        // The buffers above point into these tensors: keep them alive until encoded.
        try withExtendedLifetime((input, labelTensor, initial)) {
            try SafeTensors.encode(tensors: tensors, metadata: [:]).write(to: URL(fileURLWithPath: io))
        }

        let script = """
            import json, sys, torch
            import torch.nn.functional as F
            sys.path.insert(0, sys.argv[1])
            from models import LeNet5
            from safetensors.torch import load_file
            io = load_file(sys.argv[2])
            model = LeNet5()
            initial = {k[len("initial."):]: v for k, v in io.items() if k.startswith("initial.")}
            model.load_state_dict(initial, strict=True)
            sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits = model(io["input"])
                loss = F.cross_entropy(logits.float(), io["labels"].long())
            loss.backward()
            sgd.step()
            report = {"loss": loss.item(), "logits_dtype": str(logits.dtype)}
            for name, p in model.named_parameters():
                ours, before = io["after." + name], io["initial." + name]
                theirs = p.detach()
                report[name] = {
                    "parameter": ((ours - theirs).abs().max() / theirs.abs().max()).item(),
                    "update": ((ours - theirs).norm() / (theirs - before).norm()).item(),
                }
            print(json.dumps(report))
            """
        let run = try ProcessRunner.run(python, ["-c", script, peers, io], timeout: 300)
        XCTAssertEqual(run.status, 0, run.error)
        let report = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any],
            run.output)
        XCTAssertEqual(report["logits_dtype"] as? String, "torch.bfloat16", "autocast did not run in bf16")
        XCTAssertEqual(try XCTUnwrap(report["loss"] as? Double), result.meanLoss, accuracy: 1e-2 * result.meanLoss)
        for (name, _) in model.namedParameters() {
            let entry = try XCTUnwrap(report[name] as? [String: Double], "\(name) missing: \(run.output)")
            // After the step: max |ours − torch| relative to the parameter's largest value.
            XCTAssertLessThanOrEqual(try XCTUnwrap(entry["parameter"]), 1e-2, "\(name): \(run.output)")
            // The step itself (‖ours − torch‖ / ‖torch's update‖): bf16 rounding of gradients in a
            // different summation order than oneDNN's leaves differences of a few bf16 ulps.
            XCTAssertLessThanOrEqual(try XCTUnwrap(entry["update"]), 2e-2, "\(name): \(run.output)")
        }
        print("autocast parity: \(run.output)")
    }
}
