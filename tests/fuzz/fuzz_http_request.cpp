// libFuzzer harness: parley::server::HttpRequestParser, the server's first look at every
// connection. The input is fed whole and then in pieces; both parsers must agree, and
// what they report must stay within the documented limits.
#include "fuzzsupport.h"
#include "httprequestparser.h"

using parley::fuzz::check;
using parley::server::HttpRequestParser;

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    parley::fuzz::quietQt();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const QByteArrayView input(data, qsizetype(size));

    HttpRequestParser whole;
    const HttpRequestParser::State state = whole.feed(input);
    check(state == whole.state(), "feed() and state() disagree");
    check(whole.bytesConsumed() <= input.size(), "consumed more than was fed");

    HttpRequestParser pieces;
    parley::fuzz::feedInPieces(
        input, std::uint8_t(size), [&](QByteArrayView piece) { pieces.feed(piece); });
    check(pieces.state() == state, "whole and piecewise parses end in different states");
    check(pieces.errorStatus() == whole.errorStatus(), "different error statuses");

    switch (state) {
    case HttpRequestParser::State::NeedMore:
        check(whole.bytesConsumed() == input.size(), "NeedMore without taking everything");
        check(whole.bytesConsumed() <= HttpRequestParser::MaxHeadBytes, "head over its limit");
        break;
    case HttpRequestParser::State::Error: {
        const int status = whole.errorStatus();
        check(status == 400 || status == 413 || status == 414 || status == 431 || status == 505,
            "an undocumented error status");
        check(!whole.errorMessage().isEmpty(), "an error without a message");
        check(!HttpRequestParser::reasonPhrase(status).isEmpty(), "no reason phrase");
        check(HttpRequestParser::response(status, "text/plain", whole.errorMessage().toUtf8())
                  .startsWith("HTTP/1.1 "),
            "a malformed error response");
        break;
    }
    case HttpRequestParser::State::Complete: {
        check(whole.bytesConsumed() <= HttpRequestParser::MaxHeadBytes, "head over its limit");
        check(pieces.bytesConsumed() == whole.bytesConsumed(), "different head lengths");
        check(input.first(whole.bytesConsumed()).endsWith("\n"), "head does not end a line");
        check(pieces.method() == whole.method() && pieces.target() == whole.target()
                && pieces.path() == whole.path() && pieces.query() == whole.query()
                && pieces.version() == whole.version(),
            "different request lines");
        check(whole.version() == "HTTP/1.0" || whole.version() == "HTTP/1.1",
            "an unsupported version accepted");
        check(whole.headers().size() <= HttpRequestParser::MaxHeaders, "too many headers");
        check(pieces.headers().size() == whole.headers().size(), "different header counts");
        for (qsizetype i = 0; i < whole.headers().size(); ++i) {
            const HttpRequestParser::Header &h = whole.headers().at(i);
            check(h.name == pieces.headers().at(i).name && h.value == pieces.headers().at(i).value,
                "different headers");
            check(whole.hasHeader(h.name), "a received header is not found");
            check(whole.header(h.name).contains(h.value), "a header's value is not found");
        }
        check(pieces.isWebSocketUpgrade() == whole.isWebSocketUpgrade(), "different upgrades");
        // Once complete, more input is ignored.
        check(whole.feed("GET / HTTP/1.1\r\n\r\n") == HttpRequestParser::State::Complete
                && whole.bytesConsumed() == pieces.bytesConsumed(),
            "input after a complete head was taken");
        break;
    }
    }
    whole.reset();
    check(whole.state() == HttpRequestParser::State::NeedMore && whole.bytesConsumed() == 0,
        "reset() left state behind");
    return 0;
}
