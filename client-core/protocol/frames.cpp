#include "frames.h"

#include <array>
#include <utility>

using namespace Qt::StringLiterals;

namespace parley::protocol {

namespace {

// Indexed by the enum's value, so the order must follow ErrorCode.
constexpr std::array ErrorCodeNames {
    "bad_request"_L1,
    "unknown_type"_L1,
    "unauthenticated"_L1,
    "auth_failed"_L1,
    "user_exists"_L1,
    "not_found"_L1,
    "forbidden"_L1,
    "too_large"_L1,
    "rate_limited"_L1,
    "unavailable"_L1,
    "internal"_L1,
};
static_assert(ErrorCodeNames.size() == std::size_t(ErrorCode::Internal) + 1);

// Overload set for std::visit: one lambda per frame type.
template<typename... Ts> struct Overloaded : Ts...
{
    using Ts::operator()...;
};
template<typename... Ts> Overloaded(Ts...) -> Overloaded<Ts...>;

} // namespace

QString errorCodeName(ErrorCode code)
{
    const auto index = std::size_t(code);
    if (index >= ErrorCodeNames.size())
        return u"internal"_s;
    return QString(ErrorCodeNames[index]);
}

std::optional<ErrorCode> errorCodeFromName(QStringView name)
{
    for (std::size_t i = 0; i < ErrorCodeNames.size(); ++i) {
        if (name == ErrorCodeNames[i])
            return ErrorCode(i);
    }
    return std::nullopt;
}

QString receiptKindName(ReceiptKind kind)
{
    return kind == ReceiptKind::Read ? u"read"_s : u"delivered"_s;
}

QString typingStateName(TypingState state)
{
    return state == TypingState::Stop ? u"stop"_s : u"start"_s;
}

QString presenceStateName(PresenceState state)
{
    return state == PresenceState::Online ? u"online"_s : u"offline"_s;
}

QString frameTypeName(const ClientFrame &frame)
{
    return std::visit(Overloaded {
                          [](const Register &) { return u"register"_s; },
                          [](const Login &) { return u"login"_s; },
                          [](const Resume &) { return u"resume"_s; },
                          [](const Logout &) { return u"logout"_s; },
                          [](const Send &) { return u"send"_s; },
                          [](const ReceiptRequest &) { return u"receipt"_s; },
                          [](const SyncRequest &) { return u"sync"_s; },
                          [](const HistoryRequest &) { return u"history"_s; },
                          [](const TypingRequest &) { return u"typing"_s; },
                          [](const Watch &) { return u"watch"_s; },
                          [](const UsersRequest &) { return u"users"_s; },
                          [](const SearchRequest &) { return u"search"_s; },
                      },
        frame);
}

QString frameTypeName(const ServerFrame &frame)
{
    return std::visit(Overloaded {
                          [](const Hello &) { return u"hello"_s; },
                          [](const Welcome &) { return u"welcome"_s; },
                          [](const Ack &) { return u"ack"_s; },
                          [](const MessageEvent &) { return u"msg"_s; },
                          [](const ReceiptEvent &) { return u"receipt"_s; },
                          [](const Conversations &) { return u"conversations"_s; },
                          [](const HistoryPage &) { return u"history"_s; },
                          [](const TypingEvent &) { return u"typing"_s; },
                          [](const PresenceEvent &) { return u"presence"_s; },
                          [](const UsersPage &) { return u"users"_s; },
                          [](const SearchResults &) { return u"results"_s; },
                          [](const Ok &) { return u"ok"_s; },
                          [](const Error &) { return u"error"_s; },
                      },
        frame);
}

} // namespace parley::protocol
