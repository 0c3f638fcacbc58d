#include "jsonframe.h"

#include <QVarLengthArray>

#include <algorithm>
#include <string_view>

using namespace Qt::StringLiterals;

namespace parley::protocol {

namespace {

constexpr qsizetype MaxKeyCharsInMessage = 64;

// A parser for `capacity` bytes, which later frames may grow (keeping MaxJsonDepth).
simdjson::dom::parser *newParser(std::size_t capacity)
{
    auto *parser = new simdjson::dom::parser;
    // On failure (out of memory) the parse fails as well, and says so.
    const simdjson::error_code allocated
        = parser->allocate(std::max<std::size_t>(capacity, 1), std::size_t(MaxJsonDepth));
    Q_UNUSED(allocated);
    return parser;
}

// One parser per thread for ordinary frames: its buffers grow to the largest frame seen
// (at most ReusedParserBytes) and are reused from frame to frame.
struct SharedParser
{
    std::unique_ptr<simdjson::dom::parser> parser {newParser(4096)};
    bool inUse = false;
};

thread_local SharedParser sharedParser;

QString syntaxProblem(simdjson::error_code code)
{
    switch (code) {
    case simdjson::UTF8_ERROR:
        return u"frame is not valid UTF-8"_s;
    case simdjson::EMPTY:
        return u"frame is empty"_s;
    case simdjson::DEPTH_ERROR:
        return u"frame is not valid JSON: objects and arrays nest deeper than "_s
            + QString::number(MaxJsonDepth) + u" levels"_s;
    case simdjson::STRING_ERROR:
        return u"frame is not valid JSON: a string has an invalid escape or an unpaired "
               "surrogate"_s;
    case simdjson::UNESCAPED_CHARS:
        return u"frame is not valid JSON: a string has an unescaped control character"_s;
    case simdjson::UNCLOSED_STRING:
        return u"frame is not valid JSON: a string is not closed"_s;
    case simdjson::NUMBER_ERROR:
        return u"frame is not valid JSON: a number is malformed or out of range"_s;
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR:
        return u"frame is not valid JSON: a literal is not true, false or null"_s;
    case simdjson::TAPE_ERROR:
        return u"frame is not valid JSON: misplaced or missing brackets, commas, colons or "
               "quotes, or an unquoted value"_s;
    default:
        return u"frame is not valid JSON: "_s + QString::fromUtf8(simdjson::error_message(code));
    }
}

// The first key that appears twice in one object, anywhere in `element`. The depth is
// bounded by MaxJsonDepth, so the recursion is too.
std::optional<std::string_view> duplicateKey(simdjson::dom::element element)
{
    if (element.is_array()) {
        const simdjson::dom::array items = element.get_array().value_unsafe();
        for (const simdjson::dom::element item : items) {
            if (const auto key = duplicateKey(item))
                return key;
        }
    } else if (element.is_object()) {
        const simdjson::dom::object object = element.get_object().value_unsafe();
        QVarLengthArray<std::string_view, 16> keys;
        for (const simdjson::dom::key_value_pair field : object)
            keys.append(field.key);
        std::sort(keys.begin(), keys.end());
        const auto twice = std::adjacent_find(keys.begin(), keys.end());
        if (twice != keys.end())
            return *twice;
        for (const simdjson::dom::key_value_pair field : object) {
            if (const auto key = duplicateKey(field.value))
                return key;
        }
    }
    return std::nullopt;
}

} // namespace

JsonFrame::JsonFrame(QByteArrayView utf8)
{
    if (utf8.isEmpty()) { // and maybe without data(), which simdjson copies from
        m_error = syntaxProblem(simdjson::EMPTY);
        return;
    }
    // RFC 8259 lets a parser ignore a leading byte order mark; a frame has no reason to
    // carry one, and simdjson versions differ in how they treat it.
    if (utf8.startsWith("\xEF\xBB\xBF")) {
        m_error = u"frame is not valid JSON: it starts with a byte order mark"_s;
        return;
    }
    if (utf8.size() <= ReusedParserBytes && !sharedParser.inUse) {
        sharedParser.inUse = true;
        m_parser = sharedParser.parser.get();
    } else {
        m_ownParser.reset(newParser(std::size_t(utf8.size())));
        m_parser = m_ownParser.get();
    }
    // Copies the text into the parser's own padded buffer, reused from frame to frame.
    const simdjson::error_code code
        = m_parser->parse(utf8.data(), std::size_t(utf8.size()), true).get(m_root);
    if (code) {
        m_error = syntaxProblem(code);
        return;
    }
    if (const auto key = duplicateKey(m_root)) {
        m_error = u"frame is not valid JSON: duplicate key \""_s
            + QString::fromUtf8(key->data(), qsizetype(key->size())).left(MaxKeyCharsInMessage)
            + u'"';
    }
}

JsonFrame::~JsonFrame()
{
    if (m_parser == sharedParser.parser.get())
        sharedParser.inUse = false;
}

} // namespace parley::protocol
