#include "wsframeparser.h"

#include <QtEndian>

#include <algorithm>
#include <cstring>

namespace parley::server {

namespace {

bool isControl(quint8 opcode)
{
    return opcode & 0x8;
}

bool isKnownOpcode(quint8 opcode)
{
    switch (opcode) {
    case WsFrameParser::Continuation:
    case WsFrameParser::Text:
    case WsFrameParser::Binary:
    case WsFrameParser::Close:
    case WsFrameParser::Ping:
    case WsFrameParser::Pong:
        return true;
    default:
        return false;
    }
}

} // namespace

qsizetype WsFrameParser::feed(QByteArrayView bytes, Handler &handler)
{
    qsizetype pos = 0;
    while (!m_finished && pos < bytes.size()) {
        if (m_stage == Stage::Header) {
            // The first two bytes say how long the header is.
            int need = 2;
            if (m_headerHave >= 2) {
                const int len7 = m_header[1] & 0x7f;
                need += (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((m_header[1] & 0x80) ? 4 : 0);
            }
            const int take = int(std::min<qsizetype>(need - m_headerHave, bytes.size() - pos));
            std::memcpy(m_header + m_headerHave, bytes.data() + pos, size_t(take));
            m_headerHave += take;
            pos += take;
            if (m_headerHave < need)
                continue; // loops back to compute the full length once two bytes are in
            if (need == 2 && ((m_header[1] & 0x7f) >= 126 || (m_header[1] & 0x80)))
                continue; // an extended length or a mask key follows
            if (!headerComplete(handler))
                return pos;
            if (m_payloadBytes == 0 && !payloadComplete(handler))
                return pos;
            continue;
        }

        const qsizetype take = qsizetype(
            std::min<quint64>(m_payloadBytes - m_payloadHave, quint64(bytes.size() - pos)));
        const char *in = bytes.data() + pos;
        if (isControl(m_opcode)) {
            const qsizetype old = m_control.size();
            m_control.resize(old + take);
            unmaskInto(m_control.data() + old, in, take);
        } else {
            const qsizetype old = m_message.size();
            m_message.resize(old + take);
            unmaskInto(m_message.data() + old, in, take);
            if (m_messageOpcode == Text
                && !m_utf8.feed(QByteArrayView(m_message).sliced(old, take))) {
                fail(handler, CloseInvalidPayload, "text is not valid UTF-8");
                return pos + take;
            }
        }
        pos += take;
        m_payloadHave += quint64(take);
        if (m_payloadHave == m_payloadBytes && !payloadComplete(handler))
            return pos;
    }
    return pos;
}

bool WsFrameParser::headerComplete(Handler &handler)
{
    const bool fin = m_header[0] & 0x80;
    const quint8 rsv = (m_header[0] >> 4) & 0x7;
    const quint8 opcode = m_header[0] & 0x0f;
    const bool masked = m_header[1] & 0x80;
    const int len7 = m_header[1] & 0x7f;
    quint64 length = quint64(len7);
    int offset = 2;
    if (len7 == 126) {
        length = qFromBigEndian<quint16>(m_header + 2);
        offset = 4;
    } else if (len7 == 127) {
        length = qFromBigEndian<quint64>(m_header + 2);
        offset = 10;
    }
    m_headerHave = 0;

    if (rsv != 0)
        return fail(handler, CloseProtocolError, "reserved bits set without an extension");
    if (!isKnownOpcode(opcode))
        return fail(handler, CloseProtocolError, "reserved opcode");
    if (!masked)
        return fail(handler, CloseProtocolError, "client frames must be masked");
    if (length >> 63)
        return fail(handler, CloseProtocolError, "payload length has its top bit set");
    if (isControl(opcode)) {
        if (!fin)
            return fail(handler, CloseProtocolError, "fragmented control frame");
        if (length > 125)
            return fail(handler, CloseProtocolError, "control frame longer than 125 bytes");
    } else if (opcode == Continuation) {
        if (m_messageOpcode == 0)
            return fail(handler, CloseProtocolError, "continuation frame outside a message");
    } else if (m_messageOpcode != 0) {
        return fail(handler, CloseProtocolError, "new message inside a fragmented message");
    }
    if (!isControl(opcode) && length > quint64(m_maxMessageBytes - m_message.size()))
        return fail(handler, CloseTooBig, "message too big");

    std::memcpy(m_mask, m_header + offset, 4);
    m_fin = fin;
    m_opcode = opcode;
    m_payloadBytes = length;
    m_payloadHave = 0;
    m_maskOffset = 0;
    if (isControl(opcode)) {
        m_control.clear();
    } else if (opcode != Continuation) {
        m_messageOpcode = opcode;
        m_utf8.reset();
    }
    m_stage = Stage::Payload;
    return true;
}

bool WsFrameParser::payloadComplete(Handler &handler)
{
    m_stage = Stage::Header;
    switch (m_opcode) {
    case Ping:
        handler.wsPing(std::exchange(m_control, {}));
        return !m_finished;
    case Pong:
        handler.wsPong(std::exchange(m_control, {}));
        return !m_finished;
    case Close: {
        const QByteArray payload = std::exchange(m_control, {});
        if (payload.size() == 1)
            return fail(handler, CloseProtocolError, "close payload of one byte");
        int code = CloseNoStatus;
        QByteArray reason;
        if (payload.size() >= 2) {
            code = qFromBigEndian<quint16>(payload.constData());
            if (!isValidCloseCode(code))
                return fail(handler, CloseProtocolError, "invalid close code");
            reason = payload.sliced(2);
            if (!Utf8Validator::isValid(reason))
                return fail(handler, CloseInvalidPayload, "close reason is not valid UTF-8");
        }
        m_finished = true;
        handler.wsClose(code, std::move(reason));
        return false;
    }
    default:
        break;
    }
    if (!m_fin)
        return true; // more fragments follow
    const bool text = m_messageOpcode == Text;
    if (text && !m_utf8.isComplete())
        return fail(handler, CloseInvalidPayload, "text ends inside a UTF-8 character");
    m_messageOpcode = 0;
    handler.wsMessage(text, std::exchange(m_message, {}));
    return !m_finished;
}

bool WsFrameParser::fail(Handler &handler, int closeCode, const char *why)
{
    m_finished = true;
    m_message = {};
    m_control = {};
    handler.wsProtocolError(closeCode, why);
    return false;
}

void WsFrameParser::unmaskInto(char *out, const char *in, qsizetype n)
{
    // The key rotated to where this piece starts, as one 64-bit word.
    unsigned char key[8];
    for (int i = 0; i < 8; ++i)
        key[i] = m_mask[(m_maskOffset + unsigned(i)) & 3];
    std::uint64_t word;
    std::memcpy(&word, key, 8);
    qsizetype i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t chunk;
        std::memcpy(&chunk, in + i, 8);
        chunk ^= word;
        std::memcpy(out + i, &chunk, 8);
    }
    for (; i < n; ++i)
        out[i] = char(in[i] ^ key[i & 7]);
    m_maskOffset = (m_maskOffset + unsigned(n)) & 3;
}

bool WsFrameParser::isValidCloseCode(int code)
{
    if (code >= 3000 && code <= 4999)
        return true; // registered (3000-3999) and private (4000-4999)
    switch (code) {
    case 1000:
    case 1001:
    case 1002:
    case 1003:
    case 1007:
    case 1008:
    case 1009:
    case 1010:
    case 1011:
    case 1012:
    case 1013:
    case 1014:
        return true;
    default:
        return false; // 1004-1006 and 1015 are never sent; the rest are unassigned
    }
}

int WsFrameParser::serverHeader(quint8 opcode, quint64 payloadBytes, char *out)
{
    out[0] = char(0x80 | opcode);
    if (payloadBytes < 126) {
        out[1] = char(payloadBytes);
        return 2;
    }
    if (payloadBytes <= 0xffff) {
        out[1] = char(126);
        qToBigEndian<quint16>(quint16(payloadBytes), out + 2);
        return 4;
    }
    out[1] = char(127);
    qToBigEndian<quint64>(payloadBytes, out + 2);
    return 10;
}

QByteArray WsFrameParser::serverFrame(quint8 opcode, QByteArrayView payload)
{
    char header[10];
    const int headerBytes = serverHeader(opcode, quint64(payload.size()), header);
    QByteArray frame;
    frame.reserve(headerBytes + payload.size());
    frame.append(header, headerBytes);
    frame.append(payload);
    return frame;
}

QByteArray WsFrameParser::clientFrame(
    quint8 opcode, QByteArrayView payload, bool fin, quint32 maskKey, quint8 rsv, bool masked)
{
    QByteArray frame;
    frame.append(char((fin ? 0x80 : 0) | ((rsv & 0x7) << 4) | (opcode & 0x0f)));
    const char maskBit = masked ? char(0x80) : char(0);
    const auto n = quint64(payload.size());
    if (n < 126) {
        frame.append(char(maskBit | char(n)));
    } else if (n <= 0xffff) {
        frame.append(char(maskBit | 126));
        char len[2];
        qToBigEndian<quint16>(quint16(n), len);
        frame.append(len, 2);
    } else {
        frame.append(char(maskBit | 127));
        char len[8];
        qToBigEndian<quint64>(n, len);
        frame.append(len, 8);
    }
    if (!masked)
        return frame + payload.toByteArray();
    char key[4];
    qToBigEndian<quint32>(maskKey, key);
    frame.append(key, 4);
    for (qsizetype i = 0; i < payload.size(); ++i)
        frame.append(char(payload[i] ^ key[i & 3]));
    return frame;
}

} // namespace parley::server
