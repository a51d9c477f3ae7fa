import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an SVG could not be turned into a PNG.
public enum PNGConversionError: Error, CustomStringConvertible, Equatable {
    case noConverter
    case failed(converter: String, output: String, reason: String)

    public var description: String {
        switch self {
        case .noConverter:
            return "no SVG-to-PNG converter found on PATH: install rsvg-convert (Debian/Ubuntu: apt-get install "
                + "librsvg2-bin; macOS: brew install librsvg) or ImageMagick (apt-get install imagemagick), "
                + "or open the SVG, which browsers show as it is"
        case .failed(let converter, let output, let reason):
            return "\(output): \(converter) could not make the PNG: \(reason)"
        }
    }
}

/// Renders an SVG file as a PNG with a converter found at run time: rsvg-convert (librsvg, the
/// renderer GNOME uses; small and exact), else ImageMagick's `magick` or `convert`. A program,
/// not a library: the rasteriser is needed only for this, and only where reports are made.
public struct PNGConverter {
    public enum Kind: String {
        case rsvgConvert = "rsvg-convert", magick, convert
    }

    public var kind: Kind
    /// The executable's path.
    public var path: String

    /// The first converter on `searchPath` (a PATH-style list), in the order of `Kind`.
    public static func find(searchPath: String = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        -> PNGConverter?
    {
        let folders = searchPath.split(separator: ":").map(String.init)
        for kind in [Kind.rsvgConvert, .magick, .convert] {
            for folder in folders {
                let candidate = (folder as NSString).appendingPathComponent(kind.rawValue)
                if FileManager.default.isExecutableFile(atPath: candidate) {
                    return PNGConverter(kind: kind, path: candidate)
                }
            }
        }
        return nil
    }

    /// Arguments that render `svg` at `scale` times its size (2: sharp on high-density screens and in print).
    func arguments(svg: String, png: String, scale: Double) -> [String] {
        switch kind {
        case .rsvgConvert:
            return ["--zoom", String(scale), "--format", "png", "--output", png, svg]
        case .magick, .convert:
            // ImageMagick reads an SVG at 96 dpi; the density scales it.
            return ["-density", String(96 * scale), svg, png]
        }
    }

    /// Writes `png` from `svg`: to a temporary file beside it, checked to be a PNG, then renamed
    /// over `png`, so a failed conversion leaves no half-written picture.
    public func convert(svg: String, to png: String, scale: Double = 2) throws {
        let directory = (png as NSString).deletingLastPathComponent
        let partial = (directory.isEmpty ? "." : directory) + "/.\((png as NSString).lastPathComponent).partial.png"
        defer { try? FileManager.default.removeItem(atPath: partial) }
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("cnn-dist-png-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: errors) }
        func failure(_ reason: String) -> PNGConversionError {
            .failed(converter: path, output: png, reason: reason)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments(svg: svg, png: partial, scale: scale)
        do {
            try Data().write(to: errors)
            process.standardError = try FileHandle(forWritingTo: errors)
            process.standardOutput = FileHandle.nullDevice
            try process.run()
        } catch {
            throw failure("cannot start it (\(error.localizedDescription))")
        }
        process.waitUntilExit()
        let message = ((try? String(contentsOf: errors, encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0 else {
            throw failure("exit status \(process.terminationStatus)" + (message.isEmpty ? "" : ": \(message)"))
        }
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard let written = FileManager.default.contents(atPath: partial), written.starts(with: signature) else {
            throw failure("it wrote no PNG" + (message.isEmpty ? "" : " (\(message))"))
        }
        guard rename(partial, png) == 0 else {
            throw failure("cannot rename it into place: \(String(cString: strerror(errno)))")
        }
    }
}
