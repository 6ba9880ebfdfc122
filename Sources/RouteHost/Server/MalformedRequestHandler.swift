import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers requests the HTTP parser rejects with a JSON error before the connection closes:
/// `431` for headers over the limit (80 KiB in all), `400` for anything else malformed.
///
/// Without it the framework answers an empty 400; clients deserve to know what was wrong.
final class MalformedRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        let (status, message): (HTTPResponse.Status, String) =
            switch parserError {
            case .headerOverflow:
                (.requestHeaderFieldsTooLarge, "Request header fields too large: keep all headers under 80 KiB")
            default:
                (.badRequest, "Malformed HTTP request: \(parserError)")
            }
        let body = ByteBuffer(string: #"{"message":"\#(message)"}"#)
        var fields: HTTPFields = [
            .contentType: "application/json", .contentLength: String(body.readableBytes), .connection: "close",
            .xRequestID: RandomUUID.v4(), .cacheControl: "no-store",
        ]
        for (name, value) in SecurityHeadersMiddleware.headers { fields[name] = value }
        let head = HTTPResponse(status: status, headerFields: fields)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
