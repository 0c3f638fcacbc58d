// Typed frames of the Parley wire protocol, version 1 (see docs/protocol.md).
//
// Frames are plain value types. Requests sent by clients and events sent by the
// server are separate variants, because several type names ("history",
// "receipt", "typing", "users") carry different fields in each direction.
#pragma once

#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>
#include <variant>

namespace parley::protocol {

inline constexpr int ProtocolVersion = 1;
inline constexpr qsizetype MaxFrameBytes = 65536; // what the server accepts (hello.limits)
// What clients accept from a server. The server keeps its own frames under MaxFrameBytes
// too (history pages stop early), but a client should not break on a bigger one.
inline constexpr qsizetype MaxServerFrameBytes = 16 * 1024 * 1024;
// The deepest nesting of objects and arrays in a frame, its own object included. Frames
// need 3 (history -> messages -> message); the rest is room for growth.
inline constexpr qsizetype MaxJsonDepth = 64;
inline constexpr qsizetype MaxBodyChars = 4000; // Unicode code points
inline constexpr qsizetype MinUserChars = 2;
inline constexpr qsizetype MaxUserChars = 32;
inline constexpr qsizetype MaxPasswordBytes = 1024;
inline constexpr qsizetype MaxIdChars = 64; // rid, cid, device
inline constexpr qsizetype MaxTokenChars = 256;
inline constexpr int MaxWatchUsers = 256;
inline constexpr qint64 MaxSafeInteger = 9007199254740991LL; // 2^53 - 1

enum class ErrorCode {
    BadRequest,
    UnknownType,
    Unauthenticated,
    AuthFailed,
    UserExists,
    NotFound,
    Forbidden,
    TooLarge,
    RateLimited,
    Unavailable,
    Internal,
};

QString errorCodeName(ErrorCode code);
std::optional<ErrorCode> errorCodeFromName(QStringView name);

enum class ReceiptKind { Delivered, Read };
enum class TypingState { Start, Stop };
enum class PresenceState { Online, Offline };

QString receiptKindName(ReceiptKind kind);
QString typingStateName(TypingState state);
QString presenceStateName(PresenceState state);

// ---- client -> server ------------------------------------------------------

struct Register
{
    QString rid;
    QString user; // already lowercased by the codec
    QString password;
    QString device; // "default" when absent
    friend bool operator==(const Register &, const Register &) = default;
};

struct Login
{
    QString rid;
    QString user;
    QString password;
    QString device;
    friend bool operator==(const Login &, const Login &) = default;
};

struct Resume
{
    QString rid;
    QString token;
    friend bool operator==(const Resume &, const Resume &) = default;
};

struct Logout
{
    QString rid;
    friend bool operator==(const Logout &, const Logout &) = default;
};

struct Send
{
    QString rid;
    QString to;
    QString cid;
    QString body;
    friend bool operator==(const Send &, const Send &) = default;
};

struct ReceiptRequest
{
    QString rid;
    QString conv;
    ReceiptKind kind = ReceiptKind::Delivered;
    qint64 upTo = 0;
    friend bool operator==(const ReceiptRequest &, const ReceiptRequest &) = default;
};

struct SyncRequest
{
    QString rid;
    friend bool operator==(const SyncRequest &, const SyncRequest &) = default;
};

struct HistoryRequest
{
    QString rid;
    QString conv;
    std::optional<qint64> after;
    std::optional<qint64> before;
    int limit = 50; // default when absent; the server caps it
    friend bool operator==(const HistoryRequest &, const HistoryRequest &) = default;
};

struct TypingRequest
{
    QString rid;
    QString to;
    TypingState state = TypingState::Start;
    friend bool operator==(const TypingRequest &, const TypingRequest &) = default;
};

struct Watch
{
    QString rid;
    QStringList users;
    friend bool operator==(const Watch &, const Watch &) = default;
};

struct UsersRequest
{
    QString rid;
    QString prefix; // may be empty: list from the start
    int limit = 20;
    friend bool operator==(const UsersRequest &, const UsersRequest &) = default;
};

struct SearchRequest
{
    QString rid;
    QString q;
    std::optional<QString> conv;
    std::optional<QString> from;
    int limit = 20;
    std::optional<QString> cursor;
    friend bool operator==(const SearchRequest &, const SearchRequest &) = default;
};

using ClientFrame = std::variant<Register, Login, Resume, Logout, Send, ReceiptRequest, SyncRequest,
    HistoryRequest, TypingRequest, Watch, UsersRequest, SearchRequest>;

// ---- server -> client ------------------------------------------------------

struct Hello
{
    int protocol = ProtocolVersion;
    QString server; // "parley/<version>"
    QString node;
    qint64 maxFrameBytes = MaxFrameBytes;
    qint64 maxBodyChars = MaxBodyChars;
    friend bool operator==(const Hello &, const Hello &) = default;
};

struct Welcome
{
    QString rid;
    QString user;
    QString device;
    QString token;
    qint64 expires = 0;
    friend bool operator==(const Welcome &, const Welcome &) = default;
};

struct Ack
{
    QString rid;
    QString cid;
    QString conv;
    qint64 seq = 0;
    qint64 ts = 0;
    bool dup = false;
    friend bool operator==(const Ack &, const Ack &) = default;
};

// A stored message; as a history entry it may be a gap (only seq is meaningful).
struct Message
{
    QString conv;
    qint64 seq = 0;
    QString from;
    QString to;
    QString cid;
    QString body;
    qint64 ts = 0;
    bool gap = false;
    friend bool operator==(const Message &, const Message &) = default;
};

struct MessageEvent // type "msg"
{
    Message message;
    friend bool operator==(const MessageEvent &, const MessageEvent &) = default;
};

struct ReceiptEvent
{
    QString conv;
    QString by;
    ReceiptKind kind = ReceiptKind::Delivered;
    qint64 upTo = 0;
    friend bool operator==(const ReceiptEvent &, const ReceiptEvent &) = default;
};

struct ConversationSummary
{
    QString conv;
    QString peer;
    qint64 lastSeq = 0;
    qint64 delivered = 0;
    qint64 read = 0;
    qint64 peerDelivered = 0;
    qint64 peerRead = 0;
    qint64 lastTs = 0;
    friend bool operator==(const ConversationSummary &, const ConversationSummary &) = default;
};

struct Conversations
{
    QString rid;
    QList<ConversationSummary> items;
    friend bool operator==(const Conversations &, const Conversations &) = default;
};

struct HistoryPage
{
    QString rid;
    QString conv;
    QList<Message> messages; // ascending seq, gaps included
    bool more = false;
    friend bool operator==(const HistoryPage &, const HistoryPage &) = default;
};

struct TypingEvent
{
    QString from;
    TypingState state = TypingState::Start;
    friend bool operator==(const TypingEvent &, const TypingEvent &) = default;
};

struct PresenceEvent
{
    QString user;
    PresenceState state = PresenceState::Offline;
    std::optional<qint64> lastSeen; // only when offline
    friend bool operator==(const PresenceEvent &, const PresenceEvent &) = default;
};

struct UserEntry
{
    QString user;
    PresenceState state = PresenceState::Offline;
    friend bool operator==(const UserEntry &, const UserEntry &) = default;
};

struct UsersPage
{
    QString rid;
    QList<UserEntry> users;
    friend bool operator==(const UsersPage &, const UsersPage &) = default;
};

struct SearchHit
{
    QString conv;
    qint64 seq = 0;
    QString from;
    qint64 ts = 0;
    QString body;
    QString snippet;
    friend bool operator==(const SearchHit &, const SearchHit &) = default;
};

struct SearchResults // type "results"
{
    QString rid;
    QList<SearchHit> hits;
    std::optional<QString> next; // null when there are no more
    friend bool operator==(const SearchResults &, const SearchResults &) = default;
};

struct Ok
{
    QString rid;
    friend bool operator==(const Ok &, const Ok &) = default;
};

struct Error
{
    QString rid; // empty: not tied to a request
    ErrorCode code = ErrorCode::Internal;
    QString message;
    std::optional<qint64> retryAfterMs;
    friend bool operator==(const Error &, const Error &) = default;
};

using ServerFrame = std::variant<Hello, Welcome, Ack, MessageEvent, ReceiptEvent, Conversations,
    HistoryPage, TypingEvent, PresenceEvent, UsersPage, SearchResults, Ok, Error>;

// The type name of a frame as written in its "type" field.
QString frameTypeName(const ClientFrame &frame);
QString frameTypeName(const ServerFrame &frame);

} // namespace parley::protocol
