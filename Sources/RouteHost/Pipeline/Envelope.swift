import Foundation
import HTTPTypes
import JSONSchema

/// The JSON envelope of the original API: every sync answer, every job result and every
/// webhook body, with its field names and order.
///
/// `response` is the payload when `code` is 200, else null; `message` is `"success"` or the
/// error (a string or an object); times are seconds rounded to 3 decimals.
public struct Envelope: Sendable {
    public var endpoint: String
    public var code: Int
    public var id: JSONValue = .null
    public var jobID: String?
    public var response: JSONValue = .null
    public var message: JSONValue = "success"
    public var runTime: Double?
    public var queueTime: Double?
    public var totalTime: Double?
    public var fields: EnvelopeFields
    /// Headers for the HTTP answer (not part of the JSON).
    public var headers: HTTPFields = [:]

    public init(endpoint: String, code: Int, fields: EnvelopeFields) {
        self.endpoint = endpoint
        self.code = code
        self.fields = fields
    }

    /// The envelope for a handler's result: the payload goes to `response` on 200, to
    /// `message` otherwise.
    public init(endpoint: String, result: HandlerResponse, fields: EnvelopeFields) {
        self.init(endpoint: endpoint, code: result.status.code, fields: fields)
        headers = result.headers
        if result.status == .ok {
            response = result.payload
        } else {
            message = result.payload
        }
    }

    public var json: JSONValue {
        var object = JSONObject()
        object["endpoint"] = .string(endpoint)
        object["code"] = .number(JSONNumber(code))
        object["id"] = id
        object["job_id"] = jobID.map(JSONValue.string) ?? .null
        object["response"] = response
        object["message"] = message
        object["run_time"] = Self.seconds(runTime)
        object["queue_time"] = Self.seconds(queueTime)
        object["total_time"] = Self.seconds(totalTime)
        object["pid"] = .number(JSONNumber(Int(fields.pid)))
        object["queue_id"] = .number(JSONNumber(fields.queueID))
        object["queue_length"] = .number(JSONNumber(fields.queueLength()))
        object["build_number"] = fields.buildNumber
        return .object(object)
    }

    static func seconds(_ value: Double?) -> JSONValue {
        guard let value else { return .null }
        return .number(JSONNumber((value * 1000).rounded() / 1000))
    }
}

/// The per-process facts every envelope carries.
public struct EnvelopeFields: Sendable {
    public var pid: Int32
    /// A number naming this host's queue (stable for the life of the process).
    public var queueID: Int
    /// `BUILD_NUMBER` from the environment: a number when it is one, else the text.
    public var buildNumber: JSONValue
    /// The number of jobs waiting right now.
    public var queueLength: @Sendable () -> Int

    public init(pid: Int32 = ProcessInfo.processInfo.processIdentifier, queueID: Int, buildNumber: JSONValue, queueLength: @escaping @Sendable () -> Int) {
        self.pid = pid
        self.queueID = queueID
        self.buildNumber = buildNumber
        self.queueLength = queueLength
    }

}
