#include "sendorder.h"

using namespace Qt::StringLiterals;

namespace parley::server {

std::optional<StoreError> SendOrderGuard::admit(
    const SendRequest &send, qint64 nowMs, quint64 order)
{
    if (send.origin == 0)
        return std::nullopt;
    QMutexLocker lock(&m_mutex);
    if (m_held.isEmpty())
        return std::nullopt;
    const auto held = m_held.find({send.origin, send.to});
    if (held == m_held.end())
        return std::nullopt;
    if (held->cid == send.cid || nowMs - held->since > HoldMs) {
        m_held.erase(held);
        return std::nullopt;
    }
    if (order < held->order)
        return std::nullopt; // sent before the failed one: it cannot overtake it
    return overtaking(send.to);
}

StoreError SendOrderGuard::overtaking(const QString &to)
{
    return StoreError {StoreError::Code::OutOfOrder,
        u"an earlier message to %1 failed; send it again first"_s.arg(to)};
}

void SendOrderGuard::sentAgain(const SendRequest &send)
{
    if (send.origin == 0)
        return;
    QMutexLocker lock(&m_mutex);
    if (const auto held = m_held.find({send.origin, send.to});
        held != m_held.end() && held->cid == send.cid)
        m_held.erase(held);
}

void SendOrderGuard::failed(
    const SendRequest &send, const StoreError &error, qint64 nowMs, quint64 order)
{
    if (send.origin == 0 || !retried(error))
        return;
    const std::pair<quint64, QString> key {send.origin, send.to};
    QMutexLocker lock(&m_mutex);
    if (const auto held = m_held.constFind(key); held != m_held.cend()) {
        if (nowMs - held->since <= HoldMs && held->order <= order)
            return; // the earliest failed message is the one to wait for
    } else if (m_held.size() >= MaxHolds) {
        m_held.removeIf([nowMs](const auto &it) { return nowMs - it.value().since > HoldMs; });
        if (m_held.size() >= MaxHolds)
            return;
    }
    m_held.insert(key, Held {send.cid, nowMs, order});
}

qsizetype SendOrderGuard::holds() const
{
    QMutexLocker lock(&m_mutex);
    return m_held.size();
}

bool SendOrderGuard::retried(const StoreError &error)
{
    return error.code == StoreError::Code::Unavailable || error.code == StoreError::Code::Internal;
}

} // namespace parley::server
