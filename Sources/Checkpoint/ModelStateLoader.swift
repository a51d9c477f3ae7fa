import NN
import Optim
import TensorCore

/// Copies tensors from a checkpoint into a live model (and optimizer), strictly: every
/// tensor the model has must be present with its shape, and nothing else may be there.
public enum ModelStateLoader {
    /// Problems found comparing a file's tensors with the model's, as load_state_dict(strict=True) lists them.
    /// Tensors for which `excluded` is true are left out on both sides.
    public static func mismatches(_ file: SafeTensors.File, model: Model, excluded: (String) -> Bool = { _ in false })
        -> (missing: [String], unexpected: [String], misshaped: [String]) {
        let expected = (model.namedParameters().map { ($0.name, $0.parameter.value.shape) }
            + model.namedBuffers().map { ($0.name, $0.tensor.shape) }).filter { !excluded($0.0) }
        let present = Dictionary(file.tensors.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
        let expectedNames = Set(expected.map(\.0))
        let missing = expected.filter { present[$0.0] == nil }.map(\.0)
        let misshaped = expected.compactMap { name, shape -> String? in
            guard let found = present[name], found != shape else { return nil }
            return "\(name) (file \(found), model \(shape))"
        }
        let unexpected = file.tensors.map(\.name).filter {
            !expectedNames.contains($0) && !$0.hasPrefix(CheckpointFile.momentumPrefix) && !excluded($0)
        }
        return (missing, unexpected, misshaped)
    }

    /// Loads weights and buffers; throws listing every missing, unexpected and mis-shaped tensor.
    /// Tensors for which `excluded` is true keep the model's values (a new classifier when fine-tuning).
    public static func loadWeights(_ file: SafeTensors.File, path: String, into model: Model,
                                   excluded: (String) -> Bool = { _ in false }) throws {
        let problems = mismatches(file, model: model, excluded: excluded)
        if !(problems.missing.isEmpty && problems.unexpected.isEmpty && problems.misshaped.isEmpty) {
            var parts: [String] = []
            if !problems.missing.isEmpty { parts.append("missing: " + problems.missing.joined(separator: ", ")) }
            if !problems.unexpected.isEmpty { parts.append("unexpected: " + problems.unexpected.joined(separator: ", ")) }
            if !problems.misshaped.isEmpty { parts.append("wrong shape: " + problems.misshaped.joined(separator: ", ")) }
            throw CheckpointError.incompatible(path: path, reason: "its tensors do not match model \(model.name): "
                                               + parts.joined(separator: "; "))
        }
        for (name, parameter) in model.namedParameters() where !excluded(name) {
            copy(file[name]!, into: parameter.value)
        }
        for (name, tensor) in model.namedBuffers() where !excluded(name) { copy(file[name]!, into: tensor) }
        // NaN or ∞ weights would fail two steps later, blamed on the learning rate, or evaluate to
        // a plausible-looking accuracy: refuse them here, naming the tensor.
        for (name, tensor) in model.namedParameters().map({ ($0.name, $0.parameter.value) }) + model.namedBuffers()
        where !(0..<tensor.count).allSatisfy({ tensor.pointer[$0].isFinite }) {
            throw CheckpointError.incompatible(path: path, reason: "tensor '\(name)' holds NaN or infinite values")
        }
    }

    /// Restores SGD's momentum buffers; a parameter without one in the file has taken no step yet.
    public static func loadMomentum(_ file: SafeTensors.File, into optimizer: SGD) {
        optimizer.setMomentumBuffers(optimizer.parameters.map { name, parameter in
            guard let entry = file[CheckpointFile.momentumPrefix + name] else { return nil }
            let tensor = Tensor(shape: parameter.value.shape)
            copy(entry, into: tensor)
            return tensor
        })
    }

    public static func copy(_ entry: SafeTensors.Entry, into tensor: Tensor) {
        precondition(entry.count == tensor.count,
                     "\(entry.name): \(entry.count) values for a tensor of \(tensor.count)")
        entry.copy(to: UnsafeMutableRawPointer(tensor.pointer))
    }
}
