// libFuzzer harness: parley::server::WsFrameParser, the server's reader of client
// WebSocket frames. The input is fed whole and in pieces; both parsers must report the
// same events, and what they report must respect RFC 6455 and the message size limit.
#include "fuzzsupport.h"
#include "wsframeparser.h"

#include <QStringDecoder>

#include <vector>

using parley::fuzz::check;
using parley::server::WsFrameParser;

namespace {

constexpr qsizetype MaxMessageBytes = 1024;

struct Event
{
    char kind; // 'm'essage, 't'ext message, 'p'ing, 'o' pong, 'c'lose, 'e'rror
    int code = 0;
    QByteArray payload;
    bool operator==(const Event &) const = default;
};

class Recorder : public WsFrameParser::Handler
{
public:
    std::vector<Event> events;
    bool ended = false;

    void wsMessage(bool text, QByteArray payload) override
    {
        add({text ? 't' : 'm', 0, std::move(payload)});
    }
    void wsPing(QByteArray payload) override { add({'p', 0, std::move(payload)}); }
    void wsPong(QByteArray payload) override { add({'o', 0, std::move(payload)}); }
    void wsClose(int code, QByteArray reason) override
    {
        add({'c', code, std::move(reason)});
        ended = true;
    }
    void wsProtocolError(int closeCode, const char *why) override
    {
        check(why && *why, "a protocol error without a reason");
        add({'e', closeCode, {}});
        ended = true;
    }

private:
    void add(Event event)
    {
        check(!ended, "an event after the close or the error");
        events.push_back(std::move(event));
    }
};

bool isUtf8(const QByteArray &bytes)
{
    QStringDecoder decoder(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
    (void)decoder.decode(bytes);
    return !decoder.hasError();
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    parley::fuzz::quietQt();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const QByteArrayView input(data, qsizetype(size));

    WsFrameParser whole(MaxMessageBytes);
    Recorder wholeEvents;
    const qsizetype consumed = whole.feed(input, wholeEvents);
    check(consumed >= 0 && consumed <= input.size(), "consumed out of range");
    check(whole.isFinished() == wholeEvents.ended, "finished without a close or an error");
    check(whole.isFinished() || consumed == input.size(), "stopped early without finishing");

    WsFrameParser pieces(MaxMessageBytes);
    Recorder pieceEvents;
    qsizetype pieceConsumed = 0;
    parley::fuzz::feedInPieces(input, std::uint8_t(size),
        [&](QByteArrayView piece) { pieceConsumed += pieces.feed(piece, pieceEvents); });
    check(pieceEvents.events == wholeEvents.events, "whole and piecewise events differ");
    // After a protocol error the count only says that parsing ended (an invalid UTF-8
    // payload is taken up to the end of the piece that held it), so it is compared
    // otherwise only.
    if (wholeEvents.events.empty() || wholeEvents.events.back().kind != 'e')
        check(pieceConsumed == consumed, "whole and piecewise consumed differently");
    check(pieces.isIdle() == whole.isIdle(), "whole and piecewise idle states differ");

    for (const Event &e : wholeEvents.events) {
        switch (e.kind) {
        case 't':
            check(isUtf8(e.payload), "a text message that is not UTF-8");
            [[fallthrough]];
        case 'm':
            check(e.payload.size() <= MaxMessageBytes, "a message over the limit");
            break;
        case 'p':
        case 'o':
            check(e.payload.size() <= 125, "a control frame over 125 bytes");
            break;
        case 'c':
            check(e.code == WsFrameParser::CloseNoStatus || WsFrameParser::isValidCloseCode(e.code),
                "an invalid close code reported");
            check(isUtf8(e.payload) && e.payload.size() <= 123, "an invalid close reason");
            break;
        case 'e':
            check(e.code == WsFrameParser::CloseProtocolError
                    || e.code == WsFrameParser::CloseInvalidPayload
                    || e.code == WsFrameParser::CloseTooBig,
                "an unexpected close code for an error");
            break;
        }
    }
    if (whole.isFinished())
        check(whole.feed(QByteArrayView("\x81\x80\0\0\0\0", 6), wholeEvents) == 0,
            "input taken after the end");
    return 0;
}
