// bench_json: what parsing a protocol frame costs, with QJsonDocument and with the strict
// JSON parsers Debian packages (RapidJSON, nlohmann-json, simdjson), each compiled in when
// CMake finds it. Every variant parses and then reads every value into what the codec needs
// (QString, qint64, bool), either from a QJsonObject built by the parser or straight from
// the library's own document. The last rows are protocol::decodeClientFrame and
// decodeServerFrame end to end, whatever parser the codec uses.
//
// Frames, made by the codec's own encoder: a send with a 100-character body, a msg event,
// an ack, and a history page of 50 messages. Each variant runs --rounds rounds of about
// --ms milliseconds per frame; the median ns/frame is printed (and the spread).
//
//   bench_json [--rounds N] [--ms N]
#include "codec.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <vector>

#ifdef PARLEY_BENCH_RAPIDJSON
#include <rapidjson/document.h>
#include <rapidjson/reader.h>
#endif
#ifdef PARLEY_BENCH_NLOHMANN
#include <nlohmann/json.hpp>
#endif
#ifdef PARLEY_BENCH_SIMDJSON
#include <simdjson.h>
#endif

using namespace Qt::StringLiterals;
using namespace parley;

namespace {

// What a parse yields to the reader: a checksum, so nothing is optimised away.
struct Sink
{
    qint64 sum = 0;
    void text(const QString &s) { sum += s.size() + (s.isEmpty() ? 0 : s.front().unicode()); }
    void number(qint64 n) { sum += n; }
};

// ---- QJsonValue trees: read every value the way the codec's FieldReader does ------------

void readQt(const QJsonValue &value, Sink &sink)
{
    if (value.isObject()) {
        const QJsonObject object = value.toObject();
        for (auto it = object.begin(); it != object.end(); ++it)
            readQt(it.value(), sink);
    } else if (value.isArray()) {
        const QJsonArray array = value.toArray();
        for (const QJsonValue item : array)
            readQt(item, sink);
    } else if (value.isString()) {
        sink.text(value.toString());
    } else if (value.isDouble()) {
        sink.number(qint64(value.toDouble()));
    } else if (value.isBool()) {
        sink.number(value.toBool());
    }
}

bool qtParse(const QByteArray &frame, Sink &sink)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(frame, &error);
    if (error.error != QJsonParseError::NoError)
        return false;
    readQt(document.object(), sink);
    return true;
}

// Builds a QJsonObject from SAX events, refusing duplicate keys: the design that would keep
// the codec's QJsonObject-based FieldReader as it is.
class QtTreeBuilder
{
public:
    bool begin(bool isObject)
    {
        m_stack.push_back({isObject, {}, {}, {}});
        return m_stack.size() <= 64;
    }
    bool key(QString key)
    {
        m_stack.back().key = std::move(key);
        return !m_stack.back().object.contains(m_stack.back().key);
    }
    bool value(const QJsonValue &value)
    {
        Level &top = m_stack.back();
        if (top.isObject)
            top.object.insert(top.key, value);
        else
            top.array.append(value);
        return true;
    }
    bool end()
    {
        Level done = std::move(m_stack.back());
        m_stack.pop_back();
        const QJsonValue value = done.isObject ? QJsonValue(std::move(done.object))
                                               : QJsonValue(std::move(done.array));
        if (m_stack.empty()) {
            m_result = value.toObject();
            return true;
        }
        return this->value(value);
    }
    QJsonObject result() const { return m_result; }

private:
    struct Level
    {
        bool isObject;
        QJsonObject object;
        QJsonArray array;
        QString key;
    };
    std::vector<Level> m_stack;
    QJsonObject m_result;
};

#ifdef PARLEY_BENCH_RAPIDJSON
constexpr unsigned RapidFlags = rapidjson::kParseValidateEncodingFlag
    | rapidjson::kParseFullPrecisionFlag | rapidjson::kParseIterativeFlag;

struct RapidToQt : QtTreeBuilder
{
    bool Null() { return value(QJsonValue::Null); }
    bool Bool(bool b) { return value(b); }
    bool Int(int i) { return value(i); }
    bool Uint(unsigned u) { return value(qint64(u)); }
    bool Int64(int64_t i) { return value(qint64(i)); }
    bool Uint64(uint64_t u) { return value(double(u)); }
    bool Double(double d) { return value(d); }
    bool RawNumber(const char *, rapidjson::SizeType, bool) { return false; }
    bool String(const char *s, rapidjson::SizeType n, bool)
    {
        return value(QString::fromUtf8(s, n));
    }
    bool StartObject() { return begin(true); }
    bool Key(const char *s, rapidjson::SizeType n, bool) { return key(QString::fromUtf8(s, n)); }
    bool EndObject(rapidjson::SizeType) { return end(); }
    bool StartArray() { return begin(false); }
    bool EndArray(rapidjson::SizeType) { return end(); }
};

bool rapidToQt(const QByteArray &frame, Sink &sink)
{
    rapidjson::Reader reader;
    rapidjson::MemoryStream stream(frame.constData(), size_t(frame.size()));
    RapidToQt handler;
    if (reader.Parse<RapidFlags>(stream, handler).IsError())
        return false;
    readQt(handler.result(), sink);
    return true;
}

// A strict validating pass, then QJsonDocument (which still drops a U+FEFF after a quote).
bool rapidCheckThenQt(const QByteArray &frame, Sink &sink)
{
    rapidjson::Reader reader;
    rapidjson::MemoryStream stream(frame.constData(), size_t(frame.size()));
    rapidjson::BaseReaderHandler<> handler;
    if (reader.Parse<RapidFlags>(stream, handler).IsError())
        return false;
    return qtParse(frame, sink);
}

void readRapid(const rapidjson::Value &value, Sink &sink)
{
    if (value.IsObject()) {
        for (const auto &member : value.GetObject())
            readRapid(member.value, sink);
    } else if (value.IsArray()) {
        for (const auto &item : value.GetArray())
            readRapid(item, sink);
    } else if (value.IsString()) {
        sink.text(QString::fromUtf8(value.GetString(), value.GetStringLength()));
    } else if (value.IsInt64()) {
        sink.number(value.GetInt64());
    } else if (value.IsBool()) {
        sink.number(value.GetBool());
    }
}

bool rapidDirect(const QByteArray &frame, Sink &sink)
{
    rapidjson::Document document;
    document.Parse<RapidFlags>(frame.constData(), size_t(frame.size()));
    if (document.HasParseError())
        return false;
    readRapid(document, sink);
    return true;
}
#endif

#ifdef PARLEY_BENCH_NLOHMANN
struct NlohmannToQt : QtTreeBuilder
{
    using json = nlohmann::json;
    bool null() { return value(QJsonValue::Null); }
    bool boolean(bool b) { return value(b); }
    bool number_integer(json::number_integer_t i) { return value(qint64(i)); }
    bool number_unsigned(json::number_unsigned_t u) { return value(double(u)); }
    bool number_float(json::number_float_t d, const json::string_t &) { return value(d); }
    bool string(json::string_t &s) { return value(QString::fromStdString(s)); }
    bool binary(json::binary_t &) { return false; }
    bool start_object(std::size_t) { return begin(true); }
    bool key(json::string_t &s) { return QtTreeBuilder::key(QString::fromStdString(s)); }
    bool end_object() { return end(); }
    bool start_array(std::size_t) { return begin(false); }
    bool end_array() { return end(); }
    bool parse_error(std::size_t, const std::string &, const nlohmann::detail::exception &)
    {
        return false;
    }
};

bool nlohmannToQt(const QByteArray &frame, Sink &sink)
{
    NlohmannToQt handler;
    if (!nlohmann::json::sax_parse(frame.begin(), frame.end(), &handler))
        return false;
    readQt(handler.result(), sink);
    return true;
}

void readNlohmann(const nlohmann::json &value, Sink &sink)
{
    if (value.is_structured()) {
        for (const auto &item : value)
            readNlohmann(item, sink);
    } else if (value.is_string()) {
        const auto &s = value.get_ref<const std::string &>();
        sink.text(QString::fromUtf8(s.data(), qsizetype(s.size())));
    } else if (value.is_number_integer()) {
        sink.number(value.get<qint64>());
    } else if (value.is_boolean()) {
        sink.number(value.get<bool>());
    }
}

bool nlohmannDirect(const QByteArray &frame, Sink &sink)
{
    const nlohmann::json document = nlohmann::json::parse(frame.begin(), frame.end(), nullptr,
        /*allow_exceptions=*/false);
    if (document.is_discarded())
        return false;
    readNlohmann(document, sink);
    return true;
}
#endif

#ifdef PARLEY_BENCH_SIMDJSON
simdjson::dom::parser &simdParser()
{
    static simdjson::dom::parser parser;
    return parser;
}

// The frame copied into a buffer with the padding simdjson reads past the end.
simdjson::padded_string_view padded(const QByteArray &frame)
{
    static std::vector<char> buffer;
    buffer.resize(size_t(frame.size()) + simdjson::SIMDJSON_PADDING);
    std::copy(frame.begin(), frame.end(), buffer.begin());
    return simdjson::padded_string_view(buffer.data(), size_t(frame.size()), buffer.size());
}

QJsonValue simdValueToQt(simdjson::dom::element element, bool &duplicate)
{
    using simdjson::dom::element_type;
    switch (element.type()) {
    case element_type::OBJECT: {
        QJsonObject object;
        for (const auto field : element.get_object()) {
            const QString key = QString::fromUtf8(field.key.data(), qsizetype(field.key.size()));
            duplicate = duplicate || object.contains(key);
            object.insert(key, simdValueToQt(field.value, duplicate));
        }
        return object;
    }
    case element_type::ARRAY: {
        QJsonArray array;
        for (const auto item : element.get_array())
            array.append(simdValueToQt(item, duplicate));
        return array;
    }
    case element_type::STRING: {
        const std::string_view s = element.get_string().value_unsafe();
        return QString::fromUtf8(s.data(), qsizetype(s.size()));
    }
    case element_type::INT64:
        return qint64(element.get_int64().value_unsafe());
    case element_type::UINT64:
    case element_type::DOUBLE:
        return element.get_double().value_unsafe();
    case element_type::BOOL:
        return element.get_bool().value_unsafe();
    case element_type::NULL_VALUE:
        return QJsonValue::Null;
    }
    return {};
}

bool simdToQt(const QByteArray &frame, Sink &sink)
{
    simdjson::dom::element root;
    if (simdParser().parse(padded(frame)).get(root))
        return false;
    bool duplicate = false;
    const QJsonValue value = simdValueToQt(root, duplicate);
    readQt(value, sink);
    return !duplicate;
}

void readSimd(simdjson::dom::element element, Sink &sink)
{
    using simdjson::dom::element_type;
    switch (element.type()) {
    case element_type::OBJECT:
        for (const auto field : element.get_object())
            readSimd(field.value, sink);
        break;
    case element_type::ARRAY:
        for (const auto item : element.get_array())
            readSimd(item, sink);
        break;
    case element_type::STRING: {
        const std::string_view s = element.get_string().value_unsafe();
        sink.text(QString::fromUtf8(s.data(), qsizetype(s.size())));
        break;
    }
    case element_type::INT64:
        sink.number(element.get_int64().value_unsafe());
        break;
    case element_type::BOOL:
        sink.number(element.get_bool().value_unsafe());
        break;
    default:
        break;
    }
}

bool simdDirect(const QByteArray &frame, Sink &sink)
{
    simdjson::dom::element root;
    if (simdParser().parse(padded(frame)).get(root))
        return false;
    readSimd(root, sink);
    return true;
}
#endif

bool codecClient(const QByteArray &frame, Sink &sink)
{
    const auto decoded = protocol::decodeClientFrame(frame);
    sink.number(decoded.ok());
    return decoded.ok();
}

bool codecServer(const QByteArray &frame, Sink &sink)
{
    const auto decoded = protocol::decodeServerFrame(frame);
    sink.number(decoded.ok());
    return decoded.ok();
}

// ---- frames ----------------------------------------------------------------------------

protocol::Message message(qint64 seq)
{
    return {.conv = u"alice:bob"_s,
        .seq = seq,
        .from = u"alice"_s,
        .to = u"bob"_s,
        .cid = protocol::newCid(),
        .body = u"Are we still on for lunch tomorrow? I booked the café on the corner for "
                "12:30, tell me if that's too early."_s,
        .ts = 1700000000000 + seq};
}

struct Frame
{
    const char *name;
    QByteArray json;
    bool fromClient;
};

std::vector<Frame> frames()
{
    const protocol::Message m = message(1234);
    QList<protocol::Message> page;
    for (qint64 seq = 1; seq <= 50; ++seq)
        page.append(message(seq));
    return {
        {"send (client)",
            protocol::encode(protocol::ClientFrame(
                protocol::Send {.rid = u"r42"_s, .to = u"bob"_s, .cid = m.cid, .body = m.body})),
            true},
        {"msg (server)", protocol::encode(protocol::ServerFrame(protocol::MessageEvent {m})),
            false},
        {"ack (server)",
            protocol::encode(protocol::ServerFrame(protocol::Ack {
                .rid = u"r42"_s, .cid = m.cid, .conv = m.conv, .seq = m.seq, .ts = m.ts})),
            false},
        {"history 50 (server)",
            protocol::encode(protocol::ServerFrame(protocol::HistoryPage {
                .rid = u"r43"_s, .conv = m.conv, .messages = page, .more = true})),
            false},
    };
}

using Parse = std::function<bool(const QByteArray &, Sink &)>;

struct Variant
{
    const char *name;
    Parse parse;
    bool codec = false; // codecClient or codecServer: picked by the frame's direction
};

// Median ns per frame over `rounds` rounds of about `ms` milliseconds each, and the spread.
std::pair<double, double> measure(const Parse &parse, const QByteArray &json, int rounds, int ms)
{
    Sink sink;
    if (!parse(json, sink))
        return {-1, 0};
    // Calibrate the iteration count on one round of ~ms/4.
    qint64 iterations = 1;
    QElapsedTimer timer;
    for (;;) {
        timer.start();
        for (qint64 i = 0; i < iterations; ++i)
            parse(json, sink);
        const qint64 ns = timer.nsecsElapsed();
        if (ns > qint64(ms) * 250'000)
            break;
        iterations *= 2;
    }
    iterations *= 4;
    std::vector<double> perFrame;
    for (int r = 0; r < rounds; ++r) {
        timer.start();
        for (qint64 i = 0; i < iterations; ++i)
            parse(json, sink);
        perFrame.push_back(double(timer.nsecsElapsed()) / double(iterations));
    }
    std::sort(perFrame.begin(), perFrame.end());
    volatile qint64 keep = sink.sum;
    Q_UNUSED(keep);
    return {perFrame[perFrame.size() / 2], perFrame.back() - perFrame.front()};
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser options;
    options.setApplicationDescription(u"Parse cost of protocol frames per JSON parser"_s);
    options.addHelpOption();
    options.addOption({u"rounds"_s, u"Rounds per measurement (median printed)."_s, u"N"_s, u"7"_s});
    options.addOption({u"ms"_s, u"Milliseconds per round, about."_s, u"N"_s, u"200"_s});
    options.process(app);
    const int rounds = std::max(1, options.value(u"rounds"_s).toInt());
    const int ms = std::max(10, options.value(u"ms"_s).toInt());

    const std::vector<Variant> variants {
        {"QJsonDocument (lenient)", qtParse},
#ifdef PARLEY_BENCH_RAPIDJSON
        {"RapidJSON SAX -> QJsonObject", rapidToQt},
        {"RapidJSON check, QJsonDocument", rapidCheckThenQt},
        {"RapidJSON Document, direct", rapidDirect},
#endif
#ifdef PARLEY_BENCH_NLOHMANN
        {"nlohmann SAX -> QJsonObject", nlohmannToQt},
        {"nlohmann json, direct", nlohmannDirect},
#endif
#ifdef PARLEY_BENCH_SIMDJSON
        {"simdjson DOM -> QJsonObject", simdToQt},
        {"simdjson DOM, direct", simdDirect},
#endif
        {"protocol::decode*Frame", {}, true},
    };

    const std::vector<Frame> all = frames();
    std::printf(
        "median ns/frame over %d rounds of ~%d ms (spread max-min in brackets)\n\n", rounds, ms);
    std::printf("%-32s", "variant");
    for (const Frame &frame : all)
        std::printf(" %24s",
            qPrintable(QString::fromLatin1(frame.name) + u" "_s + QString::number(frame.json.size())
                + u"B"_s));
    std::printf("\n");
    for (const Variant &variant : variants) {
        std::printf("%-32s", variant.name);
        for (const Frame &frame : all) {
            const Parse parse = variant.codec
                ? (frame.fromClient ? Parse(codecClient) : Parse(codecServer))
                : variant.parse;
            const auto [median, spread] = measure(parse, frame.json, rounds, ms);
            if (median < 0)
                std::printf(" %24s", "FAILED");
            else
                std::printf(" %15.0f [%6.0f]", median, spread);
            std::fflush(stdout);
        }
        std::printf("\n");
    }
    return 0;
}
