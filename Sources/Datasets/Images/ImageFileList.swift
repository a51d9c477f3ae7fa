import Foundation

/// The images of one split: paths relative to `root` and their labels, in a fixed order
/// (torchvision's ImageFolder order: classes by sorted folder name, files by sorted path), and
/// the class names. From a folder of class folders, or from a list file.
public struct ImageFileList: Equatable, Sendable {
    public var root: String
    public var paths: [String]
    public var labels: [Int32]
    public var classNames: [String]

    public init(root: String, paths: [String], labels: [Int32], classNames: [String]) {
        precondition(paths.count == labels.count, "\(paths.count) paths, \(labels.count) labels")
        self.root = root
        self.paths = paths
        self.labels = labels
        self.classNames = classNames
    }

    public var count: Int { paths.count }

    /// The extensions read as images (case-insensitive): the JPEG and PNG ones of torchvision's list.
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png"]
    /// torchvision's other image extensions: a folder holding them is refused rather than read in part.
    public static let unreadableExtensions: Set<String> = ["ppm", "bmp", "pgm", "tif", "tiff", "webp"]

    /// torchvision's `ImageFolder(root)`: each sub-folder of `root` (sorted by name, hidden ones
    /// skipped) is a class; every image file below it, at any depth, a sample of that class.
    public static func scan(folder root: String) throws -> ImageFileList {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: root, isDirectory: &isDirectory) else {
            throw DataError.fileNotFound(path: root)
        }
        guard isDirectory.boolValue else {
            throw DataError.badImageFolder(path: root, reason: "is a file, not a folder of class folders")
        }
        let classNames = try classFolders(in: root)
        guard !classNames.isEmpty else {
            throw DataError.badImageFolder(
                path: root, reason: "has no class folders (expected \(root)/<class>/<image>)")
        }
        var paths: [String] = [], labels: [Int32] = []
        for (label, name) in classNames.enumerated() {
            let files = try imageFiles(below: join(root, name)).map { join(name, $0) }
            guard !files.isEmpty else {
                throw DataError.badImageFolder(
                    path: join(root, name),
                    reason: "class '\(name)' holds no .jpg, .jpeg or .png files")
            }
            paths += files
            labels += Array(repeating: Int32(label), count: files.count)
        }
        return ImageFileList(root: root, paths: paths, labels: labels, classNames: classNames)
    }

    /// The class folders of `root`: its sub-folders (links to folders too), hidden ones skipped, sorted.
    public static func classFolders(in root: String) throws -> [String] {
        let entries: [String]
        do { entries = try FileManager.default.contentsOfDirectory(atPath: root) } catch {
            throw DataError.unreadable(path: root, reason: error.localizedDescription)
        }
        return entries.filter { name in
            var isFolder: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: join(root, name), isDirectory: &isFolder)
            return !name.hasPrefix(".") && exists && isFolder.boolValue
        }.sorted()
    }

    /// Image files below `folder`, relative to it, in torchvision's order; throws on the torchvision image
    /// types we do not decode.
    public static func imageFiles(below folder: String) throws -> [String] {
        // torchvision's order, `sorted(os.walk(folder, followlinks=True))`: folders by path, files by
        // name within each. Symbolic links are followed, each real folder once (a link loop ends there).
        var folders: [(relative: String, files: [String])] = []
        var visited = Set<String>()
        func walk(_ relative: String) throws {
            let path = relative.isEmpty ? folder : join(folder, relative)
            guard visited.insert((path as NSString).resolvingSymlinksInPath).inserted else { return }
            let entries: [String]
            do { entries = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
                throw DataError.unreadable(path: path, reason: "cannot list the folder (\(error.localizedDescription))")
            }
            var files: [String] = []
            for name in entries.sorted() where !name.hasPrefix(".") {
                let child = relative.isEmpty ? name : relative + "/" + name
                var isFolder: ObjCBool = false
                if FileManager.default.fileExists(atPath: join(folder, child), isDirectory: &isFolder),
                    isFolder.boolValue
                {
                    try walk(child)
                    continue
                }
                let fileExtension = (name as NSString).pathExtension.lowercased()
                if imageExtensions.contains(fileExtension) {
                    files.append(child)  // a dangling link too: reading it names it
                } else if unreadableExtensions.contains(fileExtension) {
                    throw DataError.badImageFolder(
                        path: join(folder, child),
                        reason: ".\(fileExtension) images are not read (JPEG and PNG only): convert or remove them")
                }
            }
            folders.append((relative, files))
        }
        try walk("")
        return folders.sorted { $0.relative < $1.relative }.flatMap(\.files)
    }

    /// A list file as Caffe's ImageData layer and ImageNet's validation ground truth use: one
    /// `relative/path label` per line (the label last, after a space or tab; `#` comments and
    /// blank lines skipped). Paths are relative to `root`. Class names: `classNames` when given
    /// (a `classes.txt`, one name per line), else the label numbers.
    public static func read(list path: String, root: String, classNames: [String]? = nil) throws -> ImageFileList {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FileManager.default.fileExists(atPath: path)
                ? DataError.unreadable(path: path, reason: "permission denied or not a file")
                : DataError.fileNotFound(path: path)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DataError.badListFile(path: path, line: 0, reason: "is not UTF-8 text")
        }
        var paths: [String] = [], labels: [Int32] = []
        // Any line break, CRLF included ("\r\n" is one Character in Swift, so splitting on "\n" misses it).
        for (number, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
        {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let split = line.lastIndex(where: { $0 == " " || $0 == "\t" }) else {
                throw DataError.badListFile(
                    path: path, line: number + 1, reason: "expected 'relative/path label', got '\(line)'")
            }
            let file = line[..<split].trimmingCharacters(in: .whitespaces),
                labelText = line[line.index(after: split)...]
            guard let label = Int32(labelText), label >= 0 else {
                throw DataError.badListFile(
                    path: path, line: number + 1,
                    reason: "label '\(labelText)' is not a non-negative integer")
            }
            // A classifier's outputs are bounded (model.classes ≤ 1,000,000); so are labels.
            guard label < 1_000_000 else {
                throw DataError.badListFile(path: path, line: number + 1, reason: "label \(label) is above 999999")
            }
            if let classNames, Int(label) >= classNames.count {
                throw DataError.badListFile(
                    path: path, line: number + 1,
                    reason: "label \(label) but only \(classNames.count) class names")
            }
            paths.append(file)
            labels.append(label)
        }
        guard !paths.isEmpty else { throw DataError.badListFile(path: path, line: 0, reason: "lists no images") }
        let names = classNames ?? (0...Int(labels.max() ?? 0)).map(String.init)
        return ImageFileList(root: root, paths: paths, labels: labels, classNames: names)
    }

    /// `b` inside folder `a`, or `b` itself when it is absolute.
    static func join(_ a: String, _ b: String) -> String {
        b.hasPrefix("/") ? b : (a as NSString).appendingPathComponent(b)
    }
}
