#include "codec.h"

#include "jsonframe.h"
#include "logging.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonValue>
#include <QRandomGenerator>
#include <QSet>
#include <QStringDecoder>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

using namespace Qt::StringLiterals;

namespace parley::protocol {

namespace {

constexpr qsizetype MaxQueryChars = 256;
constexpr qsizetype MaxCursorChars = 512;

// ---- text rules ------------------------------------------------------------

bool isSurrogate(char32_t c)
{
    return c >= 0xD800 && c <= 0xDFFF;
}

bool isControl(char32_t c)
{
    return c < 0x20 || (c >= 0x7F && c <= 0x9F);
}

bool isUserNameChar(QChar c)
{
    return (c >= u'a' && c <= u'z') || (c >= u'0' && c <= u'9') || c == u'_' || c == u'.'
        || c == u'-';
}

// Calls visit(codePoint) for each code point. A lone surrogate is passed on as
// itself so that callers can reject it: it cannot be encoded as UTF-8.
template<typename Visit> void forEachCodePoint(QStringView text, Visit visit)
{
    for (qsizetype i = 0; i < text.size(); ++i) {
        char32_t c = text[i].unicode();
        if (QChar::isHighSurrogate(c) && i + 1 < text.size() && text[i + 1].isLowSurrogate()) {
            c = QChar::surrogateToUcs4(text[i], text[i + 1]);
            ++i;
        }
        visit(c);
    }
}

// A problem with a field's value, phrased to follow the field name.
using Problem = std::optional<QString>;
using TextCheck = Problem (*)(QStringView);

QString rangeText(qint64 min, qint64 max)
{
    return QString::number(min) + u".."_s + QString::number(max);
}

// Unicode text of min..max code points without control characters.
Problem plainTextProblem(QStringView text, qsizetype min, qsizetype max)
{
    qsizetype count = 0;
    bool clean = true;
    forEachCodePoint(text, [&](char32_t c) {
        clean = clean && !isSurrogate(c) && !isControl(c);
        ++count;
    });
    if (count < min || count > max || !clean)
        return u"must be "_s + rangeText(min, max) + u" characters without control characters"_s;
    return std::nullopt;
}

// ASCII between first and 0x7E, min..max characters.
Problem asciiProblem(QStringView text, qsizetype max, char16_t first, QStringView what)
{
    const bool clean = std::all_of(
        text.begin(), text.end(), [first](QChar c) { return c >= first && c <= u'\x7E'; });
    if (text.isEmpty() || text.size() > max || !clean)
        return u"must be 1.."_s + QString::number(max) + u" "_s + what;
    return std::nullopt;
}

Problem ridProblem(QStringView rid)
{
    return plainTextProblem(rid, 1, MaxIdChars);
}

Problem deviceProblem(QStringView device)
{
    return plainTextProblem(device, 1, MaxIdChars);
}

Problem cidProblem(QStringView cid)
{
    return asciiProblem(cid, MaxIdChars, u'\x21', u"printable ASCII characters without spaces");
}

Problem tokenProblem(QStringView token)
{
    return asciiProblem(token, MaxTokenChars, u'\x20', u"printable ASCII characters");
}

Problem passwordProblem(QStringView password)
{
    qsizetype bytes = 0;
    bool encodable = true;
    forEachCodePoint(password, [&](char32_t c) {
        encodable = encodable && !isSurrogate(c);
        bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    });
    if (!encodable)
        return u"must be valid Unicode"_s;
    if (bytes < 1 || bytes > MaxPasswordBytes)
        return u"must be "_s + rangeText(1, MaxPasswordBytes) + u" bytes of UTF-8"_s;
    return std::nullopt;
}

Problem queryProblem(QStringView q)
{
    qsizetype count = 0;
    bool encodable = true;
    forEachCodePoint(q, [&](char32_t c) {
        encodable = encodable && !isSurrogate(c);
        ++count;
    });
    if (count < 1 || count > MaxQueryChars || !encodable)
        return u"must be "_s + rangeText(1, MaxQueryChars) + u" characters of valid Unicode"_s;
    return std::nullopt;
}

Problem cursorProblem(QStringView cursor)
{
    // Opaque to clients, who hand back what the server gave them, even an empty one.
    return plainTextProblem(cursor, 0, MaxCursorChars);
}

Problem userNameProblem(QStringView lowercased)
{
    if (!isValidUserName(lowercased))
        return u"must be "_s + rangeText(MinUserChars, MaxUserChars)
            + u" characters of a-z, 0-9, '_', '.' and '-'"_s;
    return std::nullopt;
}

// Checked before lowercasing, so upper case letters pass.
Problem userPrefixProblem(QStringView prefix)
{
    const QString lowered = normalizeUserName(prefix);
    if (lowered.size() > MaxUserChars
        || !std::all_of(lowered.begin(), lowered.end(), isUserNameChar))
        return u"must be 0.."_s + QString::number(MaxUserChars)
            + u" characters of a-z, 0-9, '_', '.' and '-'"_s;
    return std::nullopt;
}

Problem conversationProblem(QStringView conv)
{
    if (!conversationMembers(conv))
        return u"must be \"a:b\": two different valid user names, sorted"_s;
    return std::nullopt;
}

// ---- reading fields --------------------------------------------------------

struct FieldFailure
{
    QString field;
    QString message;
};

// A field of the object being read: key, or key[index] for an array element.
struct Field
{
    QLatin1StringView key;
    qsizetype index = -1;
};

// A field's value in the parsed frame (see JsonFrame); nullopt when the key is absent.
using JsonValue = std::optional<simdjson::dom::element>;

bool isString(const JsonValue &value)
{
    return value && value->is_string();
}

QString toString(const JsonValue &value)
{
    const std::string_view text = value->get_string().value_unsafe();
    const QByteArrayView utf8(text.data(), qsizetype(text.size()));
    // QString::fromUtf8 drops a byte order mark at the start, which would turn
    // "\uFEFFbob" into a valid user name; a string's U+FEFF is data.
    if (utf8.startsWith("\xEF\xBB\xBF"))
        return QStringDecoder(QStringConverter::Utf8, QStringConverter::Flag::ConvertInitialBom)
            .decode(utf8);
    return QString::fromUtf8(utf8);
}

// Reads and validates the fields of one JSON object. Records only the first
// failure (shared with nested readers); once failed, every read returns a
// default value, so frame readers need no error checks of their own.
class FieldReader
{
public:
    // `object` is nullopt when the value that should have been an object was not one
    // (the failure is then recorded): every field of it reads as absent.
    FieldReader(std::optional<simdjson::dom::object> object, std::optional<FieldFailure> &failure,
        QString prefix = {})
        : m_object(object)
        , m_failure(failure)
        , m_prefix(std::move(prefix))
    { }

    bool failed() const { return m_failure.has_value(); }

    void fail(Field field, const QString &problem)
    {
        if (failed())
            return;
        const QString name = path(field);
        m_failure = FieldFailure {name, u"'"_s + name + u"' "_s + problem};
    }

    QString rid() { return optionalString("rid"_L1, ridProblem).value_or(QString()); }

    QString string(QLatin1StringView key, TextCheck check = nullptr)
    {
        const JsonValue value = required(key);
        return failed() ? QString() : text(value, {key}, check).value_or(QString());
    }

    std::optional<QString> optionalString(QLatin1StringView key, TextCheck check = nullptr)
    {
        const JsonValue value = lookup(key);
        if (failed() || !value)
            return std::nullopt;
        return text(value, {key}, check);
    }

    // Like optionalString, but an explicit null is allowed too.
    std::optional<QString> nullableString(QLatin1StringView key, TextCheck check = nullptr)
    {
        const JsonValue value = lookup(key);
        return value && value->is_null() ? std::nullopt : optionalString(key, check);
    }

    QString user(QLatin1StringView key)
    {
        const JsonValue value = required(key);
        return failed() ? QString() : userName(value, {key}).value_or(QString());
    }

    std::optional<QString> optionalUser(QLatin1StringView key)
    {
        const JsonValue value = lookup(key);
        if (failed() || !value)
            return std::nullopt;
        return userName(value, {key});
    }

    // 1..maxCount user names, lowercased, duplicates dropped (first one kept).
    QStringList userList(QLatin1StringView key, qsizetype maxCount)
    {
        const JsonValue value = required(key);
        if (failed())
            return {};
        simdjson::dom::array names;
        const qsizetype count = value->get(names) ? 0 : qsizetype(names.size());
        if (count < 1 || count > maxCount) {
            fail({key}, u"must be an array of "_s + rangeText(1, maxCount) + u" user names"_s);
            return {};
        }
        QStringList users;
        QSet<QString> seen;
        qsizetype i = 0;
        for (const simdjson::dom::element item : names) {
            if (failed())
                break;
            const std::optional<QString> name = userName(item, {key, i++});
            if (name && !seen.contains(*name)) {
                seen.insert(*name);
                users.append(*name);
            }
        }
        return users;
    }

    qint64 integer(QLatin1StringView key, qint64 min = 0, qint64 max = MaxSafeInteger)
    {
        const JsonValue value = required(key);
        return failed() ? min : number(*value, {key}, min, max).value_or(min);
    }

    std::optional<qint64> optionalInteger(
        QLatin1StringView key, qint64 min = 0, qint64 max = MaxSafeInteger)
    {
        const JsonValue value = lookup(key);
        if (failed() || !value)
            return std::nullopt;
        return number(*value, {key}, min, max);
    }

    // A positive page size; larger than `max` is capped ("limit is capped by the server").
    int limit(QLatin1StringView key, int max, int absent)
    {
        return int(std::min<qint64>(optionalInteger(key, 1).value_or(absent), max));
    }

    bool boolean(QLatin1StringView key)
    {
        const JsonValue value = required(key);
        if (!failed() && !value->is_bool())
            fail({key}, u"must be true or false"_s);
        return !failed() && value->get_bool().value_unsafe();
    }

    bool optionalBoolean(QLatin1StringView key) { return lookup(key) && boolean(key); }

    // One of the given values, written as name(value).
    template<typename Enum, std::size_t N>
    Enum choice(QLatin1StringView key, const std::array<Enum, N> &values, QString (*name)(Enum))
    {
        const QString written = string(key);
        QStringList names;
        for (Enum value : values) {
            if (written == name(value))
                return value;
            names.append(u'"' + name(value) + u'"');
        }
        fail({key}, u"must be one of "_s + names.join(u", "_s));
        return values.front();
    }

    ErrorCode errorCode(QLatin1StringView key)
    {
        const std::optional<ErrorCode> code = errorCodeFromName(string(key));
        if (!code)
            fail({key}, u"is not a known error code"_s);
        return code.value_or(ErrorCode::Internal);
    }

    // The object under key, read by the returned reader.
    FieldReader object(QLatin1StringView key)
    {
        const JsonValue value = required(key);
        if (!failed() && !value->is_object())
            fail({key}, u"must be an object"_s);
        std::optional<simdjson::dom::object> object;
        if (!failed())
            object = objectOf(*value);
        return FieldReader(object, m_failure, path({key}) + u'.');
    }

    // An array of objects, each read by read(FieldReader &) -> T.
    template<typename T, typename Read> QList<T> objects(QLatin1StringView key, Read read)
    {
        const JsonValue value = required(key);
        if (!failed() && !value->is_array())
            fail({key}, u"must be an array"_s);
        if (failed())
            return {};
        const simdjson::dom::array items = value->get_array().value_unsafe();
        QList<T> result;
        result.reserve(qsizetype(items.size()));
        qsizetype i = 0;
        for (const simdjson::dom::element item : items) {
            if (!item.is_object()) {
                fail({key, i}, u"must be an object"_s);
                break;
            }
            FieldReader itemReader(objectOf(item), m_failure, path({key, i}) + u'.');
            result.append(read(itemReader));
            if (failed())
                break;
            ++i;
        }
        return failed() ? QList<T>() : result;
    }

private:
    QString path(Field field) const
    {
        QString name = m_prefix + field.key;
        if (field.index >= 0)
            name += u'[' + QString::number(field.index) + u']';
        return name;
    }

    static simdjson::dom::object objectOf(simdjson::dom::element element)
    {
        return element.get_object().value_unsafe();
    }

    // Keys are unique: JsonFrame refuses a frame with a duplicate one.
    JsonValue lookup(QLatin1StringView key) const
    {
        simdjson::dom::element value;
        if (!m_object || m_object->at_key(std::string_view(key.data(), key.size())).get(value))
            return std::nullopt;
        return value;
    }

    JsonValue required(QLatin1StringView key)
    {
        const JsonValue value = lookup(key);
        if (!value)
            fail({key}, u"is missing"_s);
        return value;
    }

    std::optional<QString> text(const JsonValue &value, Field field, TextCheck check)
    {
        if (!isString(value)) {
            fail(field, u"must be a string"_s);
            return std::nullopt;
        }
        QString result = toString(value);
        if (check) {
            if (const Problem problem = check(result)) {
                fail(field, *problem);
                return std::nullopt;
            }
        }
        return result;
    }

    std::optional<QString> userName(const JsonValue &value, Field field)
    {
        const std::optional<QString> written = text(value, field, nullptr);
        if (!written)
            return std::nullopt;
        QString name = normalizeUserName(*written);
        if (const Problem problem = userNameProblem(name)) {
            fail(field, *problem);
            return std::nullopt;
        }
        return name;
    }

    std::optional<qint64> number(simdjson::dom::element value, Field field, qint64 min, qint64 max)
    {
        // An integral double (3.0, 1e2) counts as an integer; any integer up to
        // 2^53 - 1 is exact as a double. An unsigned one is past qint64, so past max.
        std::optional<qint64> result;
        if (value.is_int64()) {
            result = value.get_int64().value_unsafe();
        } else if (value.is_double()) {
            const double d = value.get_double().value_unsafe();
            if (std::isfinite(d) && std::trunc(d) == d && d >= double(min) && d <= double(max))
                result = qint64(d);
        }
        if (!result || *result < min || *result > max) {
            fail(field, u"must be an integer in "_s + rangeText(min, max));
            return std::nullopt;
        }
        return result;
    }

    std::optional<simdjson::dom::object> m_object;
    std::optional<FieldFailure> &m_failure;
    QString m_prefix;
};

// ---- frame readers ---------------------------------------------------------
// Braced initialisers are evaluated left to right, so fields are checked in the
// order written and the first failing one is the one reported.

constexpr std::array ReceiptKinds {ReceiptKind::Delivered, ReceiptKind::Read};
constexpr std::array TypingStates {TypingState::Start, TypingState::Stop};
constexpr std::array PresenceStates {PresenceState::Online, PresenceState::Offline};

template<typename Credentials> // Register or Login
ClientFrame readCredentials(FieldReader &in)
{
    return Credentials {.rid = in.rid(),
        .user = in.user("user"_L1),
        .password = in.string("password"_L1, passwordProblem),
        .device = in.optionalString("device"_L1, deviceProblem).value_or(u"default"_s)};
}

ClientFrame readResume(FieldReader &in)
{
    return Resume {.rid = in.rid(), .token = in.string("token"_L1, tokenProblem)};
}

ClientFrame readLogout(FieldReader &in)
{
    return Logout {.rid = in.rid()};
}

ClientFrame readSend(FieldReader &in)
{
    return Send {.rid = in.rid(),
        .to = in.user("to"_L1),
        .cid = in.string("cid"_L1, cidProblem),
        .body = in.string("body"_L1, bodyProblem)};
}

ClientFrame readReceiptRequest(FieldReader &in)
{
    return ReceiptRequest {.rid = in.rid(),
        .conv = in.string("conv"_L1, conversationProblem),
        .kind = in.choice("kind"_L1, ReceiptKinds, receiptKindName),
        .upTo = in.integer("upTo"_L1)};
}

ClientFrame readSync(FieldReader &in)
{
    return SyncRequest {.rid = in.rid()};
}

ClientFrame readHistoryRequest(FieldReader &in)
{
    HistoryRequest f {.rid = in.rid(),
        .conv = in.string("conv"_L1, conversationProblem),
        .after = in.optionalInteger("after"_L1),
        .before = in.optionalInteger("before"_L1),
        .limit = in.limit("limit"_L1, 1000, 50)};
    if (f.after && f.before)
        in.fail({"after"_L1}, u"and 'before' cannot both be given: use one of after/before"_s);
    return f;
}

ClientFrame readTypingRequest(FieldReader &in)
{
    return TypingRequest {.rid = in.rid(),
        .to = in.user("to"_L1),
        .state = in.choice("state"_L1, TypingStates, typingStateName)};
}

ClientFrame readWatch(FieldReader &in)
{
    return Watch {.rid = in.rid(), .users = in.userList("users"_L1, MaxWatchUsers)};
}

ClientFrame readUsersRequest(FieldReader &in)
{
    return UsersRequest {.rid = in.rid(),
        .prefix
        = normalizeUserName(in.optionalString("prefix"_L1, userPrefixProblem).value_or(QString())),
        .limit = in.limit("limit"_L1, 100, 20)};
}

ClientFrame readSearchRequest(FieldReader &in)
{
    return SearchRequest {.rid = in.rid(),
        .q = in.string("q"_L1, queryProblem),
        .conv = in.optionalString("conv"_L1, conversationProblem),
        .from = in.optionalUser("from"_L1),
        .limit = in.limit("limit"_L1, 100, 20),
        .cursor = in.optionalString("cursor"_L1, cursorProblem)};
}

template<typename Frame> struct FrameKind
{
    QLatin1StringView type;
    Frame (*read)(FieldReader &);
};

const std::array<FrameKind<ClientFrame>, 12> ClientFrameKinds {{
    {"register"_L1, readCredentials<Register>},
    {"login"_L1, readCredentials<Login>},
    {"resume"_L1, readResume},
    {"logout"_L1, readLogout},
    {"send"_L1, readSend},
    {"receipt"_L1, readReceiptRequest},
    {"sync"_L1, readSync},
    {"history"_L1, readHistoryRequest},
    {"typing"_L1, readTypingRequest},
    {"watch"_L1, readWatch},
    {"users"_L1, readUsersRequest},
    {"search"_L1, readSearchRequest},
}};

// A stored message, as a "msg" frame or a history entry (which may be a gap).
Message readMessage(FieldReader &in)
{
    if (in.optionalBoolean("gap"_L1))
        return Message {.seq = in.integer("seq"_L1), .gap = true};
    return Message {.conv = in.string("conv"_L1, conversationProblem),
        .seq = in.integer("seq"_L1),
        .from = in.user("from"_L1),
        .to = in.user("to"_L1),
        .cid = in.string("cid"_L1, cidProblem),
        .body = in.string("body"_L1, bodyProblem),
        .ts = in.integer("ts"_L1)};
}

ServerFrame readHello(FieldReader &in)
{
    Hello f {.protocol = int(in.integer("protocol"_L1, 0, std::numeric_limits<int>::max())),
        .server = in.string("server"_L1),
        .node = in.string("node"_L1)};
    FieldReader limits = in.object("limits"_L1);
    f.maxFrameBytes = limits.integer("maxFrameBytes"_L1);
    f.maxBodyChars = limits.integer("maxBodyChars"_L1);
    return f;
}

ServerFrame readWelcome(FieldReader &in)
{
    return Welcome {.rid = in.rid(),
        .user = in.user("user"_L1),
        .device = in.string("device"_L1, deviceProblem),
        .token = in.string("token"_L1, tokenProblem),
        .expires = in.integer("expires"_L1)};
}

ServerFrame readAck(FieldReader &in)
{
    return Ack {.rid = in.rid(),
        .cid = in.string("cid"_L1, cidProblem),
        .conv = in.string("conv"_L1, conversationProblem),
        .seq = in.integer("seq"_L1),
        .ts = in.integer("ts"_L1),
        .dup = in.optionalBoolean("dup"_L1)};
}

ServerFrame readMessageEvent(FieldReader &in)
{
    return MessageEvent {readMessage(in)};
}

ServerFrame readReceiptEvent(FieldReader &in)
{
    return ReceiptEvent {.conv = in.string("conv"_L1, conversationProblem),
        .by = in.user("by"_L1),
        .kind = in.choice("kind"_L1, ReceiptKinds, receiptKindName),
        .upTo = in.integer("upTo"_L1)};
}

ConversationSummary readConversationSummary(FieldReader &in)
{
    return ConversationSummary {.conv = in.string("conv"_L1, conversationProblem),
        .peer = in.user("peer"_L1),
        .lastSeq = in.integer("lastSeq"_L1),
        .delivered = in.integer("delivered"_L1),
        .read = in.integer("read"_L1),
        .peerDelivered = in.integer("peerDelivered"_L1),
        .peerRead = in.integer("peerRead"_L1),
        .lastTs = in.integer("lastTs"_L1)};
}

ServerFrame readConversations(FieldReader &in)
{
    return Conversations {.rid = in.rid(),
        .items = in.objects<ConversationSummary>("items"_L1, readConversationSummary)};
}

ServerFrame readHistoryPage(FieldReader &in)
{
    return HistoryPage {.rid = in.rid(),
        .conv = in.string("conv"_L1, conversationProblem),
        .messages = in.objects<Message>("messages"_L1, readMessage),
        .more = in.boolean("more"_L1)};
}

ServerFrame readTypingEvent(FieldReader &in)
{
    return TypingEvent {
        .from = in.user("from"_L1), .state = in.choice("state"_L1, TypingStates, typingStateName)};
}

ServerFrame readPresence(FieldReader &in)
{
    return PresenceEvent {.user = in.user("user"_L1),
        .state = in.choice("state"_L1, PresenceStates, presenceStateName),
        .lastSeen = in.optionalInteger("lastSeen"_L1)};
}

UserEntry readUserEntry(FieldReader &in)
{
    return UserEntry {.user = in.user("user"_L1),
        .state = in.choice("state"_L1, PresenceStates, presenceStateName)};
}

ServerFrame readUsersPage(FieldReader &in)
{
    return UsersPage {.rid = in.rid(), .users = in.objects<UserEntry>("users"_L1, readUserEntry)};
}

SearchHit readSearchHit(FieldReader &in)
{
    return SearchHit {.conv = in.string("conv"_L1, conversationProblem),
        .seq = in.integer("seq"_L1),
        .from = in.user("from"_L1),
        .ts = in.integer("ts"_L1),
        .body = in.string("body"_L1, bodyProblem),
        .snippet = in.string("snippet"_L1)};
}

ServerFrame readSearchResults(FieldReader &in)
{
    return SearchResults {.rid = in.rid(),
        .hits = in.objects<SearchHit>("hits"_L1, readSearchHit),
        .next = in.nullableString("next"_L1, cursorProblem)};
}

ServerFrame readOk(FieldReader &in)
{
    return Ok {.rid = in.rid()};
}

ServerFrame readError(FieldReader &in)
{
    return Error {.rid = in.rid(),
        .code = in.errorCode("code"_L1),
        .message = in.string("message"_L1),
        .retryAfterMs = in.optionalInteger("retryAfterMs"_L1)};
}

const std::array<FrameKind<ServerFrame>, 13> ServerFrameKinds {{
    {"hello"_L1, readHello},
    {"welcome"_L1, readWelcome},
    {"ack"_L1, readAck},
    {"msg"_L1, readMessageEvent},
    {"receipt"_L1, readReceiptEvent},
    {"conversations"_L1, readConversations},
    {"history"_L1, readHistoryPage},
    {"typing"_L1, readTypingEvent},
    {"presence"_L1, readPresence},
    {"users"_L1, readUsersPage},
    {"results"_L1, readSearchResults},
    {"ok"_L1, readOk},
    {"error"_L1, readError},
}};

template<typename Frame, std::size_t N>
Decoded<Frame> decodeFrame(
    QByteArrayView utf8, const std::array<FrameKind<Frame>, N> &kinds, qsizetype maxBytes)
{
    DecodeError error;
    const auto reject = [&error](ErrorCode code, QString field, QString message) {
        error.code = code;
        error.field = std::move(field);
        error.message = std::move(message);
        qCDebug(lcProtocol) << "rejected frame" << error.type.left(MaxIdChars)
                            << errorCodeName(code) << error.message;
        return Decoded<Frame>(error);
    };

    if (utf8.size() > maxBytes)
        return reject(ErrorCode::TooLarge, {},
            u"frame of "_s + QString::number(utf8.size()) + u" bytes exceeds the limit of "_s
                + QString::number(maxBytes));
    // Strict RFC 8259 (QJsonDocument, used before, took `\q`, `.5` and `1.`, and dropped a
    // U+FEFF at the start of a string): see JsonFrame.
    const JsonFrame json(utf8);
    if (!json.ok())
        return reject(ErrorCode::BadRequest, {}, json.error());
    if (!json.root().is_object())
        return reject(ErrorCode::BadRequest, {}, u"frame must be a JSON object"_s);
    const simdjson::dom::object object = json.root().get_object().value_unsafe();
    const auto member = [&object](std::string_view key) -> JsonValue {
        simdjson::dom::element value;
        if (object.at_key(key).get(value))
            return std::nullopt;
        return value;
    };

    // Recovered before anything else can fail, so that the client can match the error.
    const JsonValue rid = member("rid");
    if (isString(rid) && !ridProblem(toString(rid)))
        error.rid = toString(rid);

    const JsonValue type = member("type");
    if (!isString(type))
        return reject(ErrorCode::BadRequest, u"type"_s,
            type ? u"'type' must be a string"_s : u"'type' is missing"_s);
    error.type = toString(type);

    const auto kind = std::find_if(kinds.begin(), kinds.end(),
        [&](const FrameKind<Frame> &k) { return error.type == k.type; });
    if (kind == kinds.end())
        return reject(ErrorCode::UnknownType, u"type"_s,
            u"unknown frame type \""_s + error.type.left(MaxIdChars) + u'"');

    std::optional<FieldFailure> failure;
    FieldReader reader(object, failure);
    Frame frame = kind->read(reader);
    if (failure)
        return reject(ErrorCode::BadRequest, failure->field, failure->message);
    return Decoded<Frame>(std::move(frame));
}

// ---- encoding --------------------------------------------------------------

using JsonField = std::pair<QLatin1StringView, QJsonValue>;

// An object of the given fields, leaving out those whose value is Undefined.
QJsonObject object(std::initializer_list<JsonField> fields)
{
    QJsonObject result;
    for (const auto &[key, value] : fields) {
        if (!value.isUndefined())
            result.insert(key, value);
    }
    return result;
}

const QJsonValue Omitted(QJsonValue::Undefined);

JsonField ridField(const QString &rid)
{
    return {"rid"_L1, rid.isEmpty() ? Omitted : QJsonValue(rid)};
}

template<typename T> QJsonValue ifSet(const std::optional<T> &value)
{
    return value ? QJsonValue(*value) : Omitted;
}

template<typename T, typename ToJson> QJsonArray array(const QList<T> &items, ToJson toJson)
{
    QJsonArray result;
    for (const T &item : items)
        result.append(toJson(item));
    return result;
}

template<typename Credentials> // Register or Login
QJsonObject credentialsFields(const Credentials &f)
{
    return object({ridField(f.rid), {"user"_L1, f.user}, {"password"_L1, f.password},
        {"device"_L1, f.device}});
}

QJsonObject fields(const Register &f)
{
    return credentialsFields(f);
}

QJsonObject fields(const Login &f)
{
    return credentialsFields(f);
}

QJsonObject fields(const Resume &f)
{
    return object({ridField(f.rid), {"token"_L1, f.token}});
}

QJsonObject fields(const Logout &f)
{
    return object({ridField(f.rid)});
}

QJsonObject fields(const Send &f)
{
    return object({ridField(f.rid), {"to"_L1, f.to}, {"cid"_L1, f.cid}, {"body"_L1, f.body}});
}

QJsonObject fields(const ReceiptRequest &f)
{
    return object({ridField(f.rid), {"conv"_L1, f.conv}, {"kind"_L1, receiptKindName(f.kind)},
        {"upTo"_L1, f.upTo}});
}

QJsonObject fields(const SyncRequest &f)
{
    return object({ridField(f.rid)});
}

QJsonObject fields(const HistoryRequest &f)
{
    return object({ridField(f.rid), {"conv"_L1, f.conv}, {"after"_L1, ifSet(f.after)},
        {"before"_L1, ifSet(f.before)}, {"limit"_L1, f.limit}});
}

QJsonObject fields(const TypingRequest &f)
{
    return object({ridField(f.rid), {"to"_L1, f.to}, {"state"_L1, typingStateName(f.state)}});
}

QJsonObject fields(const Watch &f)
{
    return object({ridField(f.rid), {"users"_L1, QJsonArray::fromStringList(f.users)}});
}

QJsonObject fields(const UsersRequest &f)
{
    return object({ridField(f.rid), {"prefix"_L1, f.prefix}, {"limit"_L1, f.limit}});
}

QJsonObject fields(const SearchRequest &f)
{
    return object({ridField(f.rid), {"q"_L1, f.q}, {"conv"_L1, ifSet(f.conv)},
        {"from"_L1, ifSet(f.from)}, {"limit"_L1, f.limit}, {"cursor"_L1, ifSet(f.cursor)}});
}

QJsonObject fields(const Hello &f)
{
    const QJsonObject limits
        = object({{"maxFrameBytes"_L1, f.maxFrameBytes}, {"maxBodyChars"_L1, f.maxBodyChars}});
    return object({{"protocol"_L1, f.protocol}, {"server"_L1, f.server}, {"node"_L1, f.node},
        {"limits"_L1, limits}});
}

QJsonObject fields(const Welcome &f)
{
    return object({ridField(f.rid), {"user"_L1, f.user}, {"device"_L1, f.device},
        {"token"_L1, f.token}, {"expires"_L1, f.expires}});
}

QJsonObject fields(const Ack &f)
{
    return object({ridField(f.rid), {"cid"_L1, f.cid}, {"conv"_L1, f.conv}, {"seq"_L1, f.seq},
        {"ts"_L1, f.ts}, {"dup"_L1, f.dup ? QJsonValue(true) : Omitted}});
}

QJsonObject fields(const MessageEvent &f)
{
    return messageToJson(f.message, true);
}

QJsonObject fields(const ReceiptEvent &f)
{
    return object({{"conv"_L1, f.conv}, {"by"_L1, f.by}, {"kind"_L1, receiptKindName(f.kind)},
        {"upTo"_L1, f.upTo}});
}

QJsonObject fields(const Conversations &f)
{
    const QJsonArray items = array(f.items, [](const ConversationSummary &s) {
        return object({{"conv"_L1, s.conv}, {"peer"_L1, s.peer}, {"lastSeq"_L1, s.lastSeq},
            {"delivered"_L1, s.delivered}, {"read"_L1, s.read},
            {"peerDelivered"_L1, s.peerDelivered}, {"peerRead"_L1, s.peerRead},
            {"lastTs"_L1, s.lastTs}});
    });
    return object({ridField(f.rid), {"items"_L1, items}});
}

QJsonObject fields(const HistoryPage &f)
{
    const QJsonArray messages
        = array(f.messages, [](const Message &m) { return messageToJson(m, false); });
    return object(
        {ridField(f.rid), {"conv"_L1, f.conv}, {"messages"_L1, messages}, {"more"_L1, f.more}});
}

QJsonObject fields(const TypingEvent &f)
{
    return object({{"from"_L1, f.from}, {"state"_L1, typingStateName(f.state)}});
}

QJsonObject fields(const PresenceEvent &f)
{
    return object({{"user"_L1, f.user}, {"state"_L1, presenceStateName(f.state)},
        {"lastSeen"_L1, ifSet(f.lastSeen)}});
}

QJsonObject fields(const UsersPage &f)
{
    const QJsonArray users = array(f.users, [](const UserEntry &e) {
        return object({{"user"_L1, e.user}, {"state"_L1, presenceStateName(e.state)}});
    });
    return object({ridField(f.rid), {"users"_L1, users}});
}

QJsonObject fields(const SearchResults &f)
{
    const QJsonArray hits = array(f.hits, [](const SearchHit &h) {
        return object({{"conv"_L1, h.conv}, {"seq"_L1, h.seq}, {"from"_L1, h.from}, {"ts"_L1, h.ts},
            {"body"_L1, h.body}, {"snippet"_L1, h.snippet}});
    });
    // "next" is always present: null says there is no further page.
    return object({ridField(f.rid), {"hits"_L1, hits},
        {"next"_L1, f.next ? QJsonValue(*f.next) : QJsonValue(QJsonValue::Null)}});
}

QJsonObject fields(const Ok &f)
{
    return object({ridField(f.rid)});
}

QJsonObject fields(const Error &f)
{
    return object({ridField(f.rid), {"code"_L1, errorCodeName(f.code)}, {"message"_L1, f.message},
        {"retryAfterMs"_L1, ifSet(f.retryAfterMs)}});
}

template<typename Variant> QJsonObject variantToJson(const Variant &frame)
{
    QJsonObject object = std::visit([](const auto &f) { return fields(f); }, frame);
    object.insert("type"_L1, frameTypeName(frame));
    return object;
}

} // namespace

Decoded<ClientFrame> decodeClientFrame(QByteArrayView utf8)
{
    return decodeFrame(utf8, ClientFrameKinds, MaxFrameBytes);
}

Decoded<ServerFrame> decodeServerFrame(QByteArrayView utf8)
{
    return decodeFrame(utf8, ServerFrameKinds, MaxServerFrameBytes);
}

QJsonObject toJson(const ClientFrame &frame)
{
    return variantToJson(frame);
}

QJsonObject toJson(const ServerFrame &frame)
{
    return variantToJson(frame);
}

QByteArray encode(const ClientFrame &frame)
{
    return QJsonDocument(toJson(frame)).toJson(QJsonDocument::Compact);
}

QByteArray encode(const ServerFrame &frame)
{
    return QJsonDocument(toJson(frame)).toJson(QJsonDocument::Compact);
}

QJsonObject messageToJson(const Message &message, bool withType)
{
    const QJsonValue type = withType ? QJsonValue(u"msg"_s) : Omitted;
    if (message.gap)
        return object({{"type"_L1, type}, {"seq"_L1, message.seq}, {"gap"_L1, true}});
    return object({{"type"_L1, type}, {"conv"_L1, message.conv}, {"seq"_L1, message.seq},
        {"from"_L1, message.from}, {"to"_L1, message.to}, {"cid"_L1, message.cid},
        {"body"_L1, message.body}, {"ts"_L1, message.ts}});
}

// ---- validation helpers ----------------------------------------------------

bool isValidUserName(QStringView lowercased)
{
    return lowercased.size() >= MinUserChars && lowercased.size() <= MaxUserChars
        && std::all_of(lowercased.begin(), lowercased.end(), isUserNameChar);
}

QString normalizeUserName(QStringView user)
{
    // ASCII only: full Unicode lowercasing maps e.g. KELVIN SIGN to 'k', which
    // would let look-alike names pass validation as someone else's name.
    QString lowered = user.toString();
    for (QChar &c : lowered) {
        if (c >= u'A' && c <= u'Z')
            c = QChar(c.unicode() + (u'a' - u'A'));
    }
    return lowered;
}

QString newCid()
{
    QByteArray bytes(16, Qt::Uninitialized);
    QRandomGenerator::system()->generate(bytes.begin(), bytes.end());
    const auto ms = quint64(QDateTime::currentMSecsSinceEpoch());
    for (int i = 0; i < 6; ++i)
        bytes[i] = char((ms >> (8 * (5 - i))) & 0xff);
    bytes[6] = char(0x70 | (bytes[6] & 0x0f)); // version 7
    bytes[8] = char(0x80 | (bytes[8] & 0x3f)); // variant 10
    const QByteArray hex = bytes.toHex();
    return QString::fromLatin1(hex.first(8) + '-' + hex.sliced(8, 4) + '-' + hex.sliced(12, 4) + '-'
        + hex.sliced(16, 4) + '-' + hex.sliced(20));
}

QString conversationId(QStringView a, QStringView b)
{
    const QString first = normalizeUserName(a);
    const QString second = normalizeUserName(b);
    return first < second ? first + u':' + second : second + u':' + first;
}

std::optional<std::pair<QString, QString>> conversationMembers(QStringView conv)
{
    const qsizetype colon = conv.indexOf(u':');
    if (colon < 0)
        return std::nullopt;
    const QStringView a = conv.left(colon);
    const QStringView b = conv.mid(colon + 1);
    // Ids are canonical: already lowercase and sorted, so one conversation has one id.
    if (!isValidUserName(a) || !isValidUserName(b) || !(a < b))
        return std::nullopt;
    return std::pair(a.toString(), b.toString());
}

qsizetype codePointCount(QStringView text)
{
    qsizetype count = 0;
    forEachCodePoint(text, [&count](char32_t) { ++count; });
    return count;
}

std::optional<QString> bodyProblem(QStringView body)
{
    if (body.isEmpty())
        return u"must not be empty"_s;
    qsizetype count = 0;
    bool loneSurrogate = false;
    bool control = false;
    forEachCodePoint(body, [&](char32_t c) {
        ++count;
        loneSurrogate = loneSurrogate || isSurrogate(c);
        control = control || (c < 0x20 && c != u'\t' && c != u'\n' && c != u'\r') || c == 0x7F;
    });
    if (loneSurrogate)
        return u"must be valid Unicode (it holds a lone surrogate)"_s;
    if (control)
        return u"must not hold control characters other than tab, newline and carriage return"_s;
    if (count > MaxBodyChars)
        return u"must be at most "_s + QString::number(MaxBodyChars) + u" characters, not "_s
            + QString::number(count);
    return std::nullopt;
}

} // namespace parley::protocol
