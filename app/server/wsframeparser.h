// The server's reading half of RFC 6455: a byte-fed parser of client frames, with no
// socket inside (like HttpRequestParser). It enforces what a server must: every client
// frame masked, no reserved bits (no extension is negotiated), no reserved opcodes,
// control frames unfragmented and at most 125 bytes, continuation frames only inside a
// fragmented message, valid close payloads, text messages valid UTF-8 as a whole (a
// fragment may split a character), and a limit on the size of a message. The first
// violation ends parsing with the close code to answer with (1002, 1007 or 1009).
#pragma once

#include "utf8validator.h"

#include <QByteArray>
#include <QByteArrayView>

namespace parley::server {

class WsFrameParser
{
public:
    enum Opcode : quint8 {
        Continuation = 0x0,
        Text = 0x1,
        Binary = 0x2,
        Close = 0x8,
        Ping = 0x9,
        Pong = 0xA,
    };

    // Close codes (RFC 6455 section 7.4.1).
    static constexpr int CloseNormal = 1000;
    static constexpr int CloseProtocolError = 1002;
    static constexpr int CloseNoStatus = 1005; // a close frame without a code
    static constexpr int CloseInvalidPayload = 1007;
    static constexpr int CloseTooBig = 1009;

    // What the parser reports; called from inside feed().
    class Handler
    {
    public:
        virtual void wsMessage(bool text, QByteArray payload) = 0;
        virtual void wsPing(QByteArray payload) = 0;
        virtual void wsPong(QByteArray payload) = 0;
        // The peer's close frame: its code (CloseNoStatus when it sent none) and reason.
        virtual void wsClose(int code, QByteArray reason) = 0;
        // The peer broke the protocol; answer with a close frame carrying closeCode.
        virtual void wsProtocolError(int closeCode, const char *why) = 0;

    protected:
        ~Handler() = default;
    };

    explicit WsFrameParser(qsizetype maxMessageBytes)
        : m_maxMessageBytes(maxMessageBytes)
    { }

    // Parses as much as `bytes` holds and reports each complete message and control
    // frame. After a close frame or a protocol error it reports nothing more and
    // ignores further input. Returns the number of bytes consumed (all of them unless
    // parsing ended).
    qsizetype feed(QByteArrayView bytes, Handler &handler);

    bool isFinished() const { return m_finished; }
    // Bytes held for an incomplete frame or message.
    qsizetype bufferedBytes() const { return m_message.size() + m_control.size() + m_headerHave; }
    // Whether a read may end here without cutting a frame or a fragmented message.
    bool isIdle() const
    {
        return m_headerHave == 0 && m_stage == Stage::Header && m_messageOpcode == 0;
    }

    // Client-side helper for tests and tools: one frame as a client sends it (masked).
    static QByteArray clientFrame(quint8 opcode, QByteArrayView payload, bool fin = true,
        quint32 maskKey = 0x37fa213d, quint8 rsv = 0, bool masked = true);
    // One server frame (never masked): header and payload in one array.
    static QByteArray serverFrame(quint8 opcode, QByteArrayView payload);
    // Writes the header of an unmasked server frame into `out` (at least 10 bytes);
    // returns its length.
    static int serverHeader(quint8 opcode, quint64 payloadBytes, char *out);
    // A close code a peer may send (RFC 6455 section 7.4, IANA registry).
    static bool isValidCloseCode(int code);

private:
    enum class Stage { Header, Payload };

    bool fail(Handler &handler, int closeCode, const char *why);
    bool headerComplete(Handler &handler);
    bool payloadComplete(Handler &handler);
    void unmaskInto(char *out, const char *in, qsizetype n);

    qsizetype m_maxMessageBytes;
    Stage m_stage = Stage::Header;
    bool m_finished = false;

    unsigned char m_header[14] = {};
    int m_headerHave = 0;

    // The frame being read.
    bool m_fin = false;
    quint8 m_opcode = 0;
    unsigned char m_mask[4] = {};
    quint64 m_payloadBytes = 0;
    quint64 m_payloadHave = 0;
    unsigned m_maskOffset = 0;

    // The data message being assembled (opcode 0 when none), and a control frame's payload.
    quint8 m_messageOpcode = 0;
    QByteArray m_message;
    QByteArray m_control;
    Utf8Validator m_utf8;
};

} // namespace parley::server
