import Checkpoint
import Foundation
import NN
import Reports

/// The run directory: `config.yaml` as resolved, `metrics.jsonl` (one JSON object per epoch)
/// and `steps.jsonl` (one per recorded step).
/// Only the coordinator (rank 0) writes here.
final class RunDirectory {
    let path: String
    /// Held while this object lives: no other run writes here meanwhile.
    private let lock: RunFolderLock
    /// The TensorBoard events file the records also go to (`metrics.tensorboard`); nil: none.
    private var tensorBoard: TensorBoardRun?

    init(path: String) throws {
        self.path = path
        let manager = FileManager.default
        do {
            try manager.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw TrainError.runDirectory(path: path, reason: "cannot be created (\(error.localizedDescription))")
        }
        guard manager.isWritableFile(atPath: path) else {
            throw TrainError.runDirectory(path: path, reason: "is not writable; choose another with --run-dir")
        }
        lock = try RunFolderLock(folder: path)
    }

    /// Lets another run use the folder (at the run's end; also when this object goes away).
    func release() {
        tensorBoard?.close()
        lock.release()
    }

    /// Opens a new TensorBoard events file (a resume adds one; TensorBoard merges them by step,
    /// dropping the points of an abandoned continuation) and records the resolved config.
    func startTensorBoard(resumedAtStep: Int?, config yaml: String) throws {
        do {
            let run = try TensorBoardRun(directory: path, resumedAtStep: resumedAtStep)
            try run.recordConfig(yaml, step: resumedAtStep ?? 0)
            tensorBoard = run
        } catch {
            throw TrainError.runDirectory(path: path, reason: "cannot write its TensorBoard events file (\(error))")
        }
    }

    private func recordTensorBoard(_ write: (TensorBoardRun) throws -> Void) throws {
        guard let tensorBoard else { return }
        do {
            try write(tensorBoard)
        } catch {
            throw TrainError.runDirectory(path: path, reason: "cannot write \(tensorBoard.path) (\(error))")
        }
    }

    func writeConfig(_ yaml: String) throws {
        let file = (path as NSString).appendingPathComponent("config.yaml")
        do {
            try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        } catch {
            throw TrainError.runDirectory(path: path, reason: "cannot write config.yaml (\(error.localizedDescription))")
        }
    }

    /// `profile.json`: `train --profile-steps`' layer profile.
    func writeProfile(_ json: String) throws {
        do {
            let file = (path as NSString).appendingPathComponent("profile.json")
            try AtomicFile.write(Data((json + "\n").utf8), to: file)
        } catch {
            throw TrainError.runDirectory(path: path, reason: "cannot write profile.json (\(error))")
        }
    }

    /// `classes.txt`: the class names in label order, one per line (image folders).
    func writeClassNames(_ names: [String]) throws {
        do {
            try AtomicFile.write(Data((names.joined(separator: "\n") + "\n").utf8),
                                 to: (path as NSString).appendingPathComponent("classes.txt"))
        } catch {
            throw TrainError.runDirectory(path: path, reason: "cannot write classes.txt (\(error))")
        }
    }

    /// A fresh run starts metrics.jsonl (and metrics.csv) empty.
    func startMetrics() throws {
        try startRecords("metrics.jsonl")
        try writeMetricsCSV()
    }

    /// A resumed run keeps the epochs its checkpoint had finished (step ≤ `step`) and drops
    /// records of an abandoned continuation (resuming from an older checkpoint), so each
    /// epoch appears once; a run resumed into a new directory starts the file.
    func resumeMetrics(atStep step: Int) throws {
        try resumeRecords("metrics.jsonl", atStep: step)
        try writeMetricsCSV()
    }

    func appendMetrics(_ metrics: EpochMetrics) throws {
        try append(JSONLines.encode(metrics), to: "metrics.jsonl")
        try writeMetricsCSV()
        try recordTensorBoard { try $0.record(metrics) }
    }

    /// metrics.csv: metrics.jsonl's records as CSV, rewritten whole (a few hundred lines at most)
    /// so that it follows every cut a resume makes.
    private func writeMetricsCSV() throws {
        do {
            try AtomicFile.write(Data(MetricsCSV.render(epochRecords()).utf8),
                                 to: (path as NSString).appendingPathComponent("metrics.csv"))
        } catch {
            throw TrainError.runDirectory(path: path, reason: "cannot write metrics.csv (\(error))")
        }
    }

    /// The records of metrics.jsonl, earlier sessions included (unreadable lines left out).
    func epochRecords() -> [EpochMetrics] {
        let jsonl = (path as NSString).appendingPathComponent("metrics.jsonl")
        let text = (try? String(contentsOfFile: jsonl, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONLines.decode(EpochMetrics.self, from: $0) }
    }

    /// steps.jsonl, the per-step stream: started empty, or on a resume cut after the resumed step as metrics.jsonl is.
    func startSteps(resumedAtStep step: Int?) throws {
        if let step { try resumeRecords("steps.jsonl", atStep: step) } else { try startRecords("steps.jsonl") }
    }

    func appendSteps(_ record: StepRecord) throws {
        try append(JSONLines.encode(record), to: "steps.jsonl")
        try recordTensorBoard { try $0.record(record) }
    }

    private func startRecords(_ name: String) throws {
        let file = (path as NSString).appendingPathComponent(name)
        guard FileManager.default.createFile(atPath: file, contents: Data()) else {
            throw TrainError.runDirectory(path: path, reason: "cannot create \(name)")
        }
    }

    /// Keeps the JSON lines whose `step` is at most `step`.
    private func resumeRecords(_ name: String, atStep step: Int) throws {
        let file = (path as NSString).appendingPathComponent(name)
        guard let existing = try? String(contentsOfFile: file, encoding: .utf8) else { return try startRecords(name) }
        let kept = existing.split(separator: "\n").filter { line in
            guard let record = try? JSONLines.decode(RecordStep.self, from: line) else { return false }
            return record.step <= step
        }
        let text = kept.map { $0 + "\n" }.joined()
        if text != existing { try AtomicFile.write(Data(text.utf8), to: file) }
    }

    /// The one field both record kinds share, all a resume needs to cut them.
    private struct RecordStep: Decodable {
        var step: Int
    }

    private func append(_ record: String, to name: String) throws {
        let file = (path as NSString).appendingPathComponent(name)
        guard let handle = FileHandle(forWritingAtPath: file) else {
            throw TrainError.runDirectory(path: path, reason: "cannot open \(name) for writing")
        }
        defer { try? handle.close() }
        var end: UInt64 = 0
        do {
            end = try handle.seekToEnd()
            try handle.write(contentsOf: Data((record + "\n").utf8))
        } catch {
            // No torn last line: cut back to where the record began (a full disk writes part of it).
            try? handle.truncate(atOffset: end)
            throw TrainError.runDirectory(
                path: path, reason: "cannot append to \(name) (\(error.localizedDescription)); is the disk full?")
        }
    }

    /// The model's weights and buffers under their PyTorch names, as `model.safetensors`
    /// (what `torch.save(model.state_dict())` holds; loads with safetensors.torch.load_file).
    func writeModel(_ model: Model, metadata: [String: String]) throws {
        let bytes = SafeTensors.encode(tensors: CheckpointFile.stateTensors(of: model), metadata: metadata)
        try AtomicFile.write(bytes, to: (path as NSString).appendingPathComponent("model.safetensors"))
    }
}
