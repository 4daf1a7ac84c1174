import CRdKafka

/// A message borrowed from librdkafka, valid only inside the `RDKafkaConsumer.poll` body that
/// received it.
///
/// It holds the `rd_kafka_message_t` pointer and nothing else, so handing one to the body costs no
/// allocation and no copy: `key` and `payload` point into librdkafka's fetch buffer. The consumer
/// destroys the message as soon as the body returns, so neither the view nor its buffers may be
/// kept; copy out whatever must outlive the call.
public struct RDKafkaMessageView {
    let message: UnsafePointer<rd_kafka_message_t>

    init(_ message: UnsafePointer<rd_kafka_message_t>) { self.message = message }

    public var partition: Int32 { message.pointee.partition }

    /// The message's offset; for an event, the offset it concerns, where there is one.
    public var offset: Int64 { message.pointee.offset }

    /// CreateTime or LogAppendTime in milliseconds since the epoch, nil when the broker gave none.
    public var timestampMs: Int64? {
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &type)
        return type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE || timestamp < 0 ? nil : timestamp
    }

    /// nil when the message has no key.
    public var key: UnsafeRawBufferPointer? {
        guard message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR, let key = message.pointee.key else {
            return nil
        }
        return UnsafeRawBufferPointer(start: key, count: message.pointee.key_len)
    }

    /// nil for a tombstone (no value). For an event the C payload is an error string; it is not
    /// exposed here, so a payload is always message data.
    public var payload: UnsafeRawBufferPointer? {
        guard message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR, let payload = message.pointee.payload
        else {
            return nil
        }
        return UnsafeRawBufferPointer(start: payload, count: message.pointee.len)
    }

    /// Non-nil when this is an event rather than a message (`partitionEOF`, `autoOffsetReset`,
    /// `offsetOutOfRange`, a fetch error, ...). Events carry no key or payload.
    public var errorCode: KafkaError.Code? {
        let err = message.pointee.err
        return err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError.Code(err)
    }

    /// The event as an error, with librdkafka's own message (which names the partition and, for an
    /// offset reset, the offsets involved). Not for the hot path: it builds strings.
    public func error() -> KafkaError {
        let code = KafkaError.Code(message.pointee.err)
        let detail = rd_kafka_message_errstr(message).map { String(cString: $0) }
        var text = topicName + " [\(partition)]"
        if offset >= 0 { text += " at offset \(offset)" }
        text += ": " + (detail ?? KafkaError(code: code).message)
        return KafkaError(code: code, message: text)
    }

    /// Not for the hot path: builds a `String` on every call.
    public var topicName: String {
        guard let topic = message.pointee.rkt, let name = rd_kafka_topic_name(topic) else { return "" }
        return String(cString: name)
    }
}
