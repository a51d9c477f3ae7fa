import TensorCore

/// Lets the input gradients of a network's layers share a few buffers.
///
/// Every layer owns the tensor its backward writes the input gradient into, yet a chain's
/// gradients are alive one or two at a time: layer i's gradient is dead once layer i−1's
/// backward has read it. Giving every layer its own buffer doubled the activation memory
/// (ResNet-20, batch 128: ~200 MiB of gradients next to ~200 MiB of activations); PyTorch's
/// autograd frees each gradient after use instead. The plan walks the network in backward
/// order and gives each `.own` gradient a slot (shared `TensorStorage`, grown to its largest
/// user) that holds no gradient still to be read at that point: the incoming gradient, and
/// in a residual block the gradient at the sum (which the shortcut reads after the main path)
/// and the main path's result (which waits for the shortcut's). ResNet-20 needs four slots.
///
/// A Concat's branches are planned too: each branch's slice of the incoming gradient, the
/// branch's chain, and the block's summed input gradient (GoogLeNet had kept a buffer per
/// layer inside its Inception blocks, twice its activation memory). Layers the plan does not
/// understand (`.unplanned`: custom layers) keep their own buffers, and so do layers that
/// compute no input gradient.
public final class GradientBufferPlan {
    /// The shared memories; a slot's index is its identity in the walk.
    public private(set) var slots: [TensorStorage] = []
    /// Gradient tensors given a slot.
    public private(set) var sharedTensors = 0
    /// Tests turn Concat's planning off, for a reference that keeps its buffers.
    nonisolated(unsafe) static var plansConcat = true

    /// Plans `network` (whose output gradient comes from outside, the loss) and binds its
    /// layers' gradient tensors to the slots. Call after `needsInputGradient` is final.
    @discardableResult
    public static func apply(to network: Layer) -> GradientBufferPlan {
        let plan = GradientBufferPlan()
        _ = plan.plan(network, incoming: nil, live: [])
        return plan
    }

    /// Plans `layer`'s backward, whose output gradient is in slot `incoming` (nil: memory
    /// outside the plan) while the slots in `live` hold gradients read after it; returns the
    /// slot of the input gradient it returns (nil: outside the plan).
    private func plan(_ layer: Layer, incoming: Int?, live: Set<Int>) -> Int? {
        switch layer {
        case let sequential as Sequential:
            return planChain(sequential.children.map(\.layer), incoming: incoming, live: live)
        case let residual as Residual:
            return planResidual(residual, incoming: incoming, live: live)
        case let concat as Concat where GradientBufferPlan.plansConcat:
            return planConcat(concat, incoming: incoming, live: live)
        default:
            guard layer.needsInputGradient else { return nil }
            switch layer.inputGradientBuffer {
            case .own(let tensor):
                return bind(tensor, excluding: live.union(incoming.map { [$0] } ?? []))
            case .incoming:
                precondition(incoming.map { !live.contains($0) } ?? true,
                             "\(layer.kind) overwrites a gradient that is read after it")
                return incoming
            case .passThrough:
                return incoming
            case .unplanned:
                return nil
            }
        }
    }

    private func planChain(_ layers: [Layer], incoming: Int?, live: Set<Int>) -> Int? {
        var current = incoming
        for layer in layers.reversed() { current = plan(layer, incoming: current, live: live) }
        return current
    }

    /// Backward of a residual block: gradient at the sum, main path, shortcut (reading the
    /// gradient at the sum again), then their sum into the block's input gradient.
    private func planResidual(_ block: Residual, incoming: Int?, live: Set<Int>) -> Int? {
        let atSum: Int?
        if block.fusesReLU {
            atSum = bind(block.gradSum, excluding: live.union(incoming.map { [$0] } ?? []))
        } else if let activation = block.activation {
            atSum = plan(activation, incoming: incoming, live: live)
        } else {
            atSum = incoming
        }
        var mainLive = live
        if let atSum { mainLive.insert(atSum) }
        let main = planChain(block.mainLayers.map(\.layer), incoming: atSum, live: mainLive)
        var shortcutLive = mainLive
        if let main { shortcutLive.insert(main) }
        let shortcut = block.shortcut.map { plan($0.layer, incoming: atSum, live: shortcutLive) } ?? atSum
        guard block.needsInputGradient else { return nil }
        var busy = live
        for slot in [main, shortcut] { if let slot { busy.insert(slot) } }
        return bind(block.gradInput, excluding: busy)
    }

    /// Backward of a Concat, branch by branch: the branch's slice copied out of the incoming
    /// gradient (read again for every branch), the branch, then its input gradient copied into
    /// the block's (first branch) or added to it (which then stays live to the end).
    private func planConcat(_ block: Concat, incoming: Int?, live: Set<Int>) -> Int? {
        var outer = live
        if let incoming { outer.insert(incoming) }
        var sum: Int?
        for (index, branch) in block.branches.enumerated() {
            var busy = outer
            if let sum { busy.insert(sum) }
            let slice = bind(block.branchGradients[index], excluding: busy)
            let result = plan(branch.layer, incoming: slice, live: busy)
            if index == 0 && block.needsInputGradient {
                // Written after the first branch, from its result: any slot but that one.
                sum = bind(block.gradInput, excluding: outer.union(result.map { [$0] } ?? []))
            }
        }
        return sum
    }

    /// Gives `tensor` the lowest slot not in `excluded` (a new one when all are); returns it.
    private func bind(_ tensor: Tensor, excluding excluded: Set<Int>) -> Int {
        let slot = slots.indices.first { !excluded.contains($0) } ?? {
            slots.append(TensorStorage())
            return slots.count - 1
        }()
        tensor.share(slots[slot])
        sharedTensors += 1
        return slot
    }
}
