#include "deliveryledger.h"

#include <QJsonDocument>
#include <QJsonObject>

using namespace Qt::StringLiterals;

namespace parley::server::redis {

bool DeliveryLedger::record(const QString &user, const QString &conv, qint64 seq, qint64 nowMs)
{
    return m_sent[user][conv].emplace(seq, nowMs).second;
}

bool DeliveryLedger::contains(const QString &user, const QString &conv, qint64 seq) const
{
    const auto u = m_sent.constFind(user);
    if (u == m_sent.constEnd())
        return false;
    const auto c = u->constFind(conv);
    return c != u->constEnd() && c->count(seq) > 0;
}

void DeliveryLedger::prune(qint64 beforeMs)
{
    for (auto u = m_sent.begin(); u != m_sent.end();) {
        for (auto c = u->begin(); c != u->end();) {
            std::erase_if(*c, [beforeMs](const auto &entry) { return entry.second < beforeMs; });
            c = c->empty() ? u->erase(c) : std::next(c);
        }
        u = u->isEmpty() ? m_sent.erase(u) : std::next(u);
    }
}

void DeliveryLedger::forgetUser(const QString &user)
{
    m_sent.remove(user);
}

qsizetype DeliveryLedger::size() const
{
    qsizetype n = 0;
    for (const auto &convs : m_sent)
        for (const auto &seqs : convs)
            n += qsizetype(seqs.size());
    return n;
}

std::optional<std::pair<QString, qint64>> DeliveryLedger::messageKey(QByteArrayView frame)
{
    // The codec writes keys sorted, so "type" comes last: a cheap test before parsing.
    if (!frame.endsWith(R"("type":"msg"})"))
        return std::nullopt;
    const QJsonObject object = QJsonDocument::fromJson(frame.toByteArray()).object();
    const QString conv = object.value(u"conv"_s).toString();
    const qint64 seq = object.value(u"seq"_s).toInteger();
    if (conv.isEmpty() || seq <= 0)
        return std::nullopt;
    return std::make_pair(conv, seq);
}

} // namespace parley::server::redis
