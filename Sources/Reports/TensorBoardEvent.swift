import Foundation

/// The TensorBoard `Event` messages cnn-dist writes, encoded. Field numbers are those of
/// tensorboard/compat/proto (event.proto, summary.proto, tensor.proto, tensor_shape.proto),
/// checked against tensorboard 2.21's descriptors.
enum TensorBoardEvent {
    private enum Event { static let wallTime = 1, step = 2, fileVersion = 3, summary = 5, sessionLog = 7 }
    private enum Summary { static let value = 1 }
    private enum SummaryValue { static let tag = 1, simpleValue = 2, tensor = 8, metadata = 9 }
    private enum SummaryMetadata { static let pluginData = 1 }
    private enum PluginData { static let pluginName = 1 }
    private enum TensorProto {
        static let dtype = 1, shape = 2, stringValue = 8
        static let stringType: Int64 = 7  // DT_STRING
    }
    private enum SessionLog {
        static let status = 1
        static let start: Int64 = 1
    }

    /// The record every events file begins with. Version 2 tells readers that a restart is marked
    /// by a SessionLog START (`sessionStart`), not guessed from steps going back.
    static func fileVersion(wallTime: Date) -> [UInt8] {
        var event = header(wallTime: wallTime, step: 0)
        event.string(Event.fileVersion, "brain.Event:2")
        return event.encoded
    }

    /// Scalars as `simple_value`s, which the scalars dashboard reads, all at one step.
    static func scalars(_ scalars: [(tag: String, value: Float)], step: Int, wallTime: Date) -> [UInt8] {
        var summary = ProtobufEncoder()
        for scalar in scalars {
            var value = ProtobufEncoder()
            value.string(SummaryValue.tag, scalar.tag)
            value.float(SummaryValue.simpleValue, scalar.value)
            summary.message(Summary.value, value)
        }
        var event = header(wallTime: wallTime, step: step)
        event.message(Event.summary, summary)
        return event.encoded
    }

    /// Text for the text dashboard, which renders it as Markdown: a scalar string tensor whose
    /// metadata names the `text` plugin.
    static func text(tag: String, _ text: String, step: Int, wallTime: Date) -> [UInt8] {
        var plugin = ProtobufEncoder()
        plugin.string(PluginData.pluginName, "text")
        var metadata = ProtobufEncoder()
        metadata.message(SummaryMetadata.pluginData, plugin)
        var tensor = ProtobufEncoder()
        tensor.integer(TensorProto.dtype, TensorProto.stringType)
        tensor.message(TensorProto.shape, ProtobufEncoder())  // no dimensions: a scalar
        tensor.string(TensorProto.stringValue, text)
        var value = ProtobufEncoder()
        value.string(SummaryValue.tag, tag)
        value.message(SummaryValue.metadata, metadata)
        value.message(SummaryValue.tensor, tensor)
        var summary = ProtobufEncoder()
        summary.message(Summary.value, value)
        var event = header(wallTime: wallTime, step: step)
        event.message(Event.summary, summary)
        return event.encoded
    }

    /// A restart at `step`: readers drop what earlier files recorded at `step` and after.
    static func sessionStart(step: Int, wallTime: Date) -> [UInt8] {
        var log = ProtobufEncoder()
        log.integer(SessionLog.status, SessionLog.start)
        var event = header(wallTime: wallTime, step: step)
        event.message(Event.sessionLog, log)
        return event.encoded
    }

    private static func header(wallTime: Date, step: Int) -> ProtobufEncoder {
        var event = ProtobufEncoder()
        event.double(Event.wallTime, wallTime.timeIntervalSince1970)
        event.integer(Event.step, Int64(step))
        return event
    }
}
