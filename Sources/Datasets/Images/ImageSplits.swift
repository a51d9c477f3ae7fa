import Foundation

/// The training and validation images of an image-folder data set: class folders
/// (`ROOT/train/<class>/…`, `ROOT/val/<class>/…`), list files, or a packed set (`ROOT/pack.json`).
public enum ImageSplits {
    /// Opens both splits. `train` and `validation` override `root`/train and `root`/val; each may
    /// be a folder of class folders or a list file (paths relative to `root`, else to the list's folder).
    public static func open(root: String?, train: String?, validation: String?, classesFile: String?) throws
        -> (train: any EncodedImages, validation: any EncodedImages)
    {
        if let root, train == nil, validation == nil, PackedImages.isPackedSet(root) {
            return (try PackedImages(directory: root, split: "train"), try PackedImages(directory: root, split: "val"))
        }
        let classNames = try classesFile.map(readClassNames)
        func split(_ explicit: String?, _ name: String) throws -> ImageFileList {
            guard let path = explicit ?? root.map({ ImageFileList.join($0, name) }) else {
                throw DataError.badImageFolder(
                    path: name, reason: "no data.path and no data.\(name == "val" ? "val" : "train")_path")
            }
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue {
                let listRoot = root ?? (path as NSString).deletingLastPathComponent
                return try ImageFileList.read(list: path, root: listRoot, classNames: classNames)
            }
            return try ImageFileList.scan(folder: path)
        }
        let trainList = try split(train, "train"), validationList = try split(validation, "val")
        try checkSameClasses(train: trainList, validation: validationList)
        return (FolderImages(trainList), FolderImages(validationList))
    }

    /// Validation must name the training classes in the same order, or label i would mean two things.
    static func checkSameClasses(train: ImageFileList, validation: ImageFileList) throws {
        guard train.classNames != validation.classNames else { return }
        let missing = train.classNames.filter { !validation.classNames.contains($0) }
        let extra = validation.classNames.filter { !train.classNames.contains($0) }
        var reasons: [String] = []
        if !missing.isEmpty { reasons.append("training classes missing in validation: \(list(missing))") }
        if !extra.isEmpty { reasons.append("validation classes not in training: \(list(extra))") }
        if reasons.isEmpty { reasons.append("the classes are listed in another order") }
        throw DataError.badImageFolder(
            path: validation.root,
            reason: reasons.joined(separator: "; ")
                + " (both splits need a folder for every class)")
    }

    static func list(_ names: [String]) -> String {
        names.prefix(5).joined(separator: ", ") + (names.count > 5 ? " and \(names.count - 5) more" : "")
    }

    /// One class name per non-empty line.
    public static func readClassNames(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw FileManager.default.fileExists(atPath: path)
                ? DataError.unreadable(path: path, reason: "not UTF-8 text") : DataError.fileNotFound(path: path)
        }
        let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty
        }
        guard !names.isEmpty else { throw DataError.badListFile(path: path, line: 0, reason: "names no classes") }
        return names
    }
}
