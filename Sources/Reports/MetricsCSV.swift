/// metrics.jsonl as CSV (`metrics.csv`), one row per epoch, for spreadsheets and pandas: the
/// same fields and names; an empty cell where a field is absent or not a number.
public enum MetricsCSV {
    public static let columns = [
        "epoch", "step", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "val_top5_accuracy",
        "images_per_sec", "time", "lr_drop_from", "lr_drop_to", "resumed_at_step", "replaced_images",
    ]

    public static func render(_ records: [EpochMetrics]) -> String {
        var lines = [columns.joined(separator: ",")]
        for r in records {
            let cells: [String] = [
                String(r.epoch), String(r.step), number(r.learningRate), number(r.trainLoss), number(r.trainAccuracy),
                number(r.validationLoss), number(r.validationAccuracy), number(r.validationTop5),
                number(r.imagesPerSecond), number(r.time), number(r.learningRateDrop?.old),
                number(r.learningRateDrop?.new), r.resumedAtStep.map(String.init) ?? "",
                r.replacedImages.map(String.init) ?? "",
            ]
            lines.append(cells.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Shortest text that reads back as the same Double (Swift's description), empty for nil, NaN or ∞.
    static func number(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "" }
        return value.description
    }
}
