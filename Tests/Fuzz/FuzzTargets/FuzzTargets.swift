import Checkpoint
import Configuration
import Datasets
import Foundation
import Train

/// The bodies of the libFuzzer targets (fuzz-config, fuzz-checkpoint, fuzz-data; launch/fuzz.sh
/// builds and runs them). Each takes arbitrary bytes and must end in a value or a thrown error:
/// a crash, a hang, a sanitizer report or a broken invariant is a finding.
public enum FuzzTargets {
    /// A config file. One that parses must write a resolved config.yaml that reads back to itself.
    public static func config(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let config = try? TrainConfig.parse(yaml: text, source: "fuzz.yaml", knownModels: Catalog.models) else {
            return
        }
        let resolved = config.resolvedYAML()
        guard let again = try? TrainConfig.parse(yaml: resolved, source: "resolved.yaml", knownModels: Catalog.models),
            again.resolvedYAML() == resolved
        else { fatalError("a config's resolved YAML does not read back to itself:\n\(text)\n---\n\(resolved)") }
    }

    /// A checkpoint: the safetensors structure, the checksums and the training metadata.
    public static func checkpoint(_ bytes: UnsafeRawBufferPointer) {
        guard let file = try? SafeTensors.decode(Data(bytes), source: "fuzz.safetensors") else { return }
        _ = try? CheckpointFile.verified(file, path: "fuzz.safetensors")
        _ = try? MetadataCoder.decode(CheckpointMetadata.self, from: file.metadata)
    }

    /// Data files: an image through the JPEG/PNG decoders (full size, and a JPEG's DCT reduction),
    /// and the same bytes as IDX images and labels (plain or gzip).
    public static func data(_ bytes: UnsafeRawBufferPointer) {
        let decoder = ImageDecoder()
        var image = DecodedImage(width: 0, height: 0, channels: 3, pixels: [])
        _ = try? decoder.decode(bytes, channels: 3, into: &image)
        _ = try? decoder.decode(bytes, channels: 1, reduction: 4, into: &image)
        guard FileManager.default.createFile(atPath: scratchFile, contents: Data(bytes)) else { return }
        _ = try? IDXReader.readImages(path: scratchFile)
        _ = try? IDXReader.readLabels(path: scratchFile)
    }

    /// Where `data` puts bytes for the readers that take a path (one file per process).
    static let scratchFile = NSTemporaryDirectory() + "/cnn-dist-fuzz-\(getpid()).idx"

    /// Without libFuzzer: runs `target` on each file named (or each file in each folder named), as a
    /// libFuzzer binary replays a crash file; returns the exit status.
    public static func replay(_ target: (UnsafeRawBufferPointer) -> Void, arguments: [String]) -> Int32 {
        var files: [String] = []
        for path in arguments {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                FileHandle.standardError.write(Data("error: \(path): no such file or folder\n".utf8))
                return 2
            }
            let inside = isFolder.boolValue ? (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] : nil
            files += inside.map { $0.sorted().map { path + "/" + $0 } } ?? [path]
        }
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            data.withUnsafeBytes { target($0) }
        }
        print("replayed \(files.count) input(s): no crash")
        return 0
    }
}

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func llvmFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

extension FuzzTargets {
    /// Hands the command line to libFuzzer's driver (SwiftPM links an executable's entry point as
    /// `<module>_main`, so each target's entry calls this instead of libFuzzer's own `main`).
    public static func runDriver(
        _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt {
        var count = argc
        var arguments = argv
        return llvmFuzzerRunDriver(&count, &arguments, callback)
    }
}
#endif
