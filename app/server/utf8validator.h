// An incremental UTF-8 validator (RFC 3629): bytes are fed in pieces that may split a
// character anywhere, as a fragmented WebSocket text message may (RFC 6455 section 8.1).
// Rejects overlong forms, surrogates (U+D800..U+DFFF) and anything above U+10FFFF at the
// first byte that makes the input invalid, so a receiver can fail fast.
#pragma once

#include <QByteArrayView>

#include <cstdint>
#include <cstring>

namespace parley::server {

class Utf8Validator
{
public:
    // False once the input so far cannot be the start of valid UTF-8; stays false.
    bool feed(QByteArrayView bytes)
    {
        if (m_failed)
            return false;
        const auto *p = reinterpret_cast<const unsigned char *>(bytes.data());
        const auto *end = p + bytes.size();
        while (p < end) {
            if (m_need == 0) {
                // ASCII fast path, eight bytes at a time.
                while (end - p >= 8) {
                    std::uint64_t word;
                    std::memcpy(&word, p, 8);
                    if (word & 0x8080808080808080ULL)
                        break;
                    p += 8;
                }
                if (p == end)
                    break;
                const unsigned char c = *p++;
                if (c < 0x80)
                    continue;
                if (c >= 0xC2 && c <= 0xDF) {
                    m_need = 1;
                    m_low = 0x80;
                    m_high = 0xBF;
                } else if (c >= 0xE0 && c <= 0xEF) {
                    m_need = 2;
                    m_low = c == 0xE0 ? 0xA0 : 0x80; // no overlong three-byte forms
                    m_high = c == 0xED ? 0x9F : 0xBF; // no surrogates
                } else if (c >= 0xF0 && c <= 0xF4) {
                    m_need = 3;
                    m_low = c == 0xF0 ? 0x90 : 0x80; // no overlong four-byte forms
                    m_high = c == 0xF4 ? 0x8F : 0xBF; // nothing above U+10FFFF
                } else {
                    return fail(); // a continuation byte, C0, C1 or F5..FF
                }
                continue;
            }
            const unsigned char c = *p++;
            if (c < m_low || c > m_high)
                return fail();
            // Only the byte after the lead has a narrowed range.
            m_low = 0x80;
            m_high = 0xBF;
            --m_need;
        }
        return true;
    }

    // True when everything fed so far is valid and ends on a character boundary.
    bool isComplete() const { return !m_failed && m_need == 0; }
    bool hasFailed() const { return m_failed; }
    void reset() { *this = Utf8Validator(); }

    static bool isValid(QByteArrayView bytes)
    {
        Utf8Validator validator;
        return validator.feed(bytes) && validator.isComplete();
    }

private:
    bool fail()
    {
        m_failed = true;
        return false;
    }

    unsigned char m_need = 0; // continuation bytes still expected
    unsigned char m_low = 0x80; // the range the next continuation byte must be in
    unsigned char m_high = 0xBF;
    bool m_failed = false;
};

} // namespace parley::server
