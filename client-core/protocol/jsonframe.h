// Strict RFC 8259 parsing of one frame, with simdjson: what the codec reads fields from.
#pragma once

#include "frames.h"

#include <QByteArrayView>
#include <QString>

#include <memory>
#include <simdjson.h>

namespace parley::protocol {

// The parsed JSON text of one frame. Beyond RFC 8259's grammar (which simdjson holds to:
// no invalid escapes, no `.5` or `1.`, no leading zeros, trailing commas, comments, NaN,
// unescaped control characters, invalid UTF-8 or unpaired surrogate escapes), it refuses
// duplicate keys in any object, nesting past MaxJsonDepth, and a byte order mark before
// the text. Strings are kept byte for byte: a U+FEFF inside one stays.
//
// Elements of root() point into a parser: they are valid while this object lives. Frames
// of up to ReusedParserBytes (twice MaxFrameBytes) share one parser per thread, whose
// buffers (several times the text's size) are kept; larger ones, which only a client
// receives, get a parser of their own that is freed with this object.
class JsonFrame
{
public:
    static constexpr qsizetype ReusedParserBytes = 128 * 1024;

    explicit JsonFrame(QByteArrayView utf8);
    ~JsonFrame();
    JsonFrame(const JsonFrame &) = delete;
    JsonFrame &operator=(const JsonFrame &) = delete;

    bool ok() const { return m_error.isEmpty(); }
    // Why the text is not acceptable JSON, for a bad_request reply; empty when ok().
    const QString &error() const { return m_error; }
    simdjson::dom::element root() const { return m_root; }

private:
    simdjson::dom::parser *m_parser = nullptr;
    std::unique_ptr<simdjson::dom::parser> m_ownParser;
    simdjson::dom::element m_root;
    QString m_error;
};

} // namespace parley::protocol
