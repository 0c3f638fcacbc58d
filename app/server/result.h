// Result values for asynchronous server operations: errors are values with a
// code and a message, never exceptions or bare booleans.
#pragma once

#include <QString>

#include <utility>
#include <variant>

namespace parley::server {

struct StoreError
{
    enum class Code {
        NotFound, // no such user/token/conversation
        Forbidden, // not a member of the group (also for a group id that does not exist)
        Conflict, // already exists (user name taken)
        Invalid, // the request cannot be answered as given (a search cursor that is not ours)
        Unavailable, // the backend is down or overloaded: retry later
        Internal, // a bug or a corrupt store
        // An earlier message of the same connection to the conversation failed and has not
        // come again yet (SendOrderGuard): this one would overtake it. Retry after it.
        OutOfOrder,
    };
    Code code = Code::Internal;
    QString message;
};

struct Done
{
};

template<typename T> class Result
{
public:
    Result(T value)
        : m_value(std::move(value))
    { }
    Result(StoreError error)
        : m_value(std::move(error))
    { }
    static Result failure(StoreError::Code code, QString message)
    {
        return Result(StoreError {code, std::move(message)});
    }

    bool ok() const { return std::holds_alternative<T>(m_value); }
    explicit operator bool() const { return ok(); }
    const T &value() const { return std::get<T>(m_value); }
    T &value() { return std::get<T>(m_value); }
    const StoreError &error() const { return std::get<StoreError>(m_value); }

private:
    std::variant<T, StoreError> m_value;
};

} // namespace parley::server
