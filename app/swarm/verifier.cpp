#include "verifier.h"

#include "codec.h"

using namespace Qt::StringLiterals;

namespace parley::swarm {

void Verifier::addDevice(const QString &user, const QString &device)
{
    QStringList &devices = m_devices[user];
    if (!devices.contains(device))
        devices.append(device);
}

int Verifier::expectedDevices(const QString &user) const
{
    return std::max<int>(1, int(m_devices.value(user).size()));
}

void Verifier::resettle(Tracked &message)
{
    int pending = 0;
    if (message.from.isEmpty()) {
        pending = 0; // not sent by this run (yet): nothing to wait for
    } else if (!message.acked) {
        pending = 1;
    } else {
        const QStringList devices = m_devices.value(message.to, QStringList {message.to});
        for (const QString &device : devices) {
            const bool got = std::any_of(message.deliveries.cbegin(), message.deliveries.cend(),
                [&device](const Delivery &d) { return d.device == device; });
            pending += got ? 0 : 1;
        }
    }
    m_unsettled += pending - message.pending;
    message.pending = pending;
}

void Verifier::sent(
    const QString &cid, const QString &from, const QString &to, const QString &sender)
{
    Tracked &message = m_messages[cid];
    if (!message.from.isEmpty())
        return; // the same cid twice: the client resends with one cid, the run counts it once
    message.from = from;
    message.sender = sender.isEmpty() ? from : sender;
    message.to = to;
    message.conv = protocol::conversationId(from, to);
    m_order.append(cid);
    resettle(message);
}

void Verifier::acked(const QString &cid, const QString &conv, qint64 seq)
{
    Tracked &message = m_messages[cid];
    if (message.acked)
        return;
    message.acked = true;
    message.seq = seq;
    if (!conv.isEmpty())
        message.conv = conv;
    resettle(message);
}

void Verifier::delivered(const QString &device, const QString &cid, const QString &conv, qint64 seq)
{
    const QString key = device + u'\n' + conv;
    auto highest = m_highestSeq.find(key);
    if (highest == m_highestSeq.end()) {
        m_highestSeq.insert(key, seq);
    } else if (seq < *highest) {
        ++m_reordered;
        m_reorderedOffenders.append({u"reordered"_s, cid, conv,
            u"%1 got seq %2 after seq %3"_s.arg(device).arg(seq).arg(*highest)});
    } else {
        *highest = seq;
    }
    Tracked &message = m_messages[cid];
    for (Delivery &d : message.deliveries) {
        if (d.device == device) {
            ++d.times;
            return;
        }
    }
    message.deliveries.append({device, conv, seq, 1});
    resettle(message);
}

Verdict Verifier::verdict(int offendersPerKind) const
{
    Verdict v;
    v.reordered = m_reordered;
    QHash<QString, int> listed;
    auto offend
        = [&](const QString &kind, const QString &cid, const QString &conv, const QString &detail) {
              if (listed[kind]++ < offendersPerKind)
                  v.offenders.append({kind, cid, conv, detail});
          };
    // sending device + '\n' + conv -> (highest seq acked so far in sending order, its cid)
    QHash<QString, std::pair<qint64, QString>> sendOrder;
    for (const QString &cid : m_order) {
        const Tracked &m = m_messages.value(cid);
        ++v.sent;
        if (!m.acked) {
            ++v.unacked;
            offend(u"unacked"_s, cid, m.conv,
                u"from %1 to %2, never acknowledged"_s.arg(m.from, m.to));
            continue;
        }
        ++v.acked;
        auto &[highest, highestCid] = sendOrder[m.sender + u'\n' + m.conv];
        if (m.seq < highest) {
            ++v.reordered;
            offend(u"send_order"_s, cid, m.conv,
                u"%1 sent it after %2, which got seq %3, but it got seq %4"_s
                    .arg(m.sender, highestCid)
                    .arg(highest)
                    .arg(m.seq));
        } else {
            highest = m.seq;
            highestCid = cid;
        }
        const QStringList devices = m_devices.value(m.to, QStringList {m.to});
        for (const QString &device : devices) {
            auto it = std::find_if(m.deliveries.cbegin(), m.deliveries.cend(),
                [&device](const Delivery &d) { return d.device == device; });
            if (it == m.deliveries.cend()) {
                ++v.lost;
                offend(u"lost"_s, cid, m.conv,
                    u"seq %1 from %2 never reached %3"_s.arg(m.seq).arg(m.from, device));
                continue;
            }
            ++v.delivered;
            if (it->times > 1) {
                v.duplicates += it->times - 1;
                offend(u"duplicate"_s, cid, m.conv,
                    u"seq %1 reached %2 %3 times"_s.arg(m.seq).arg(device).arg(it->times));
            }
            if (it->conv != m.conv || it->seq != m.seq) {
                ++v.mismatched;
                offend(u"mismatch"_s, cid, m.conv,
                    u"acked as %1 seq %2, %3 got it as %4 seq %5"_s.arg(m.conv)
                        .arg(m.seq)
                        .arg(device, it->conv)
                        .arg(it->seq));
            }
        }
    }
    for (const Offender &o : m_reorderedOffenders) {
        if (listed[o.kind]++ < offendersPerKind)
            v.offenders.append(o);
    }
    for (auto it = m_messages.cbegin(); it != m_messages.cend(); ++it) {
        if (it->from.isEmpty())
            v.unexpected += it->deliveries.size();
    }
    if (v.mismatched)
        v.errors[u"verifier.mismatch"_s] += v.mismatched;
    if (v.unexpected)
        v.errors[u"verifier.unexpected"_s] += v.unexpected;
    return v;
}

} // namespace parley::swarm
