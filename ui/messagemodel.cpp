#include "messagemodel.h"

#include <QDateTime>

#include <algorithm>

using namespace Qt::StringLiterals;
using parley::client::ChatMessage;
using parley::client::MessageState;

namespace parley::ui {

QDate localDay(qint64 msSinceEpoch)
{
    return QDateTime::fromMSecsSinceEpoch(msSinceEpoch).toLocalTime().date();
}

MessageModel::MessageModel(QObject *parent)
    : QAbstractListModel(parent)
{ }

void MessageModel::reset(const QString &conv, qint64 peerDelivered, qint64 peerRead)
{
    beginResetModel();
    m_conv = conv;
    m_peerDelivered = peerDelivered;
    m_peerRead = peerRead;
    m_highlightSeq = 0;
    m_messages.clear();
    m_days.clear();
    m_cids.clear();
    endResetModel();
}

void MessageModel::addPage(const QList<ChatMessage> &messages)
{
    QList<ChatMessage> fresh;
    for (const ChatMessage &m : messages) {
        if (m.gap || m.conv != m_conv)
            continue;
        const bool known
            = (!m.cid.isEmpty() && m_cids.contains(m.cid)) || (m.seq > 0 && findSeq(m.seq) >= 0);
        if (!known)
            fresh.append(m);
    }
    if (fresh.isEmpty())
        return;
    // The usual case: a page older than everything shown goes in front in one insert.
    const qint64 oldest = oldestSeq();
    const bool allOlder = std::all_of(fresh.cbegin(), fresh.cend(),
        [oldest](const ChatMessage &m) { return m.seq > 0 && (oldest == 0 || m.seq < oldest); });
    if (allOlder && (oldest > 0 || m_messages.isEmpty())) {
        std::sort(fresh.begin(), fresh.end(),
            [](const ChatMessage &a, const ChatMessage &b) { return a.seq < b.seq; });
        beginInsertRows({}, 0, int(fresh.size()) - 1);
        QList<QDate> days;
        days.reserve(fresh.size());
        for (const ChatMessage &m : std::as_const(fresh)) {
            days.append(localDay(m.ts));
            m_cids.insert(m.cid);
        }
        m_messages = fresh + m_messages;
        m_days = days + m_days;
        endInsertRows();
        dayFlagMayHaveChanged(int(fresh.size()));
        return;
    }
    for (const ChatMessage &m : std::as_const(fresh))
        insertAt(insertionRow(m), m);
}

void MessageModel::add(const ChatMessage &message)
{
    if (message.gap || message.conv != m_conv)
        return;
    if ((!message.cid.isEmpty() && m_cids.contains(message.cid))
        || (message.seq > 0 && findSeq(message.seq) >= 0)) {
        update(message);
        return;
    }
    insertAt(insertionRow(message), message);
}

void MessageModel::update(const ChatMessage &message)
{
    if (message.conv != m_conv)
        return;
    int row = !message.cid.isEmpty() && m_cids.contains(message.cid) ? findCid(message.cid) : -1;
    if (row < 0 && message.seq > 0)
        row = findSeq(message.seq);
    if (row < 0)
        return;
    const bool acked = m_messages.at(row).seq == 0 && message.seq > 0;
    if (acked) {
        // Now stored: it belongs among the stored messages by seq (an incoming message
        // may have been stored while ours waited for its ack).
        beginRemoveRows({}, row, row);
        m_messages.removeAt(row);
        m_days.removeAt(row);
        m_cids.remove(message.cid);
        endRemoveRows();
        dayFlagMayHaveChanged(row);
        insertAt(insertionRow(message), message);
        return;
    }
    m_messages[row] = message;
    m_days[row] = localDay(message.ts);
    const QModelIndex at = index(row);
    Q_EMIT dataChanged(at, at);
}

void MessageModel::remove(const QString &cid)
{
    const int row = m_cids.contains(cid) ? findCid(cid) : -1;
    if (row < 0)
        return;
    beginRemoveRows({}, row, row);
    m_messages.removeAt(row);
    m_days.removeAt(row);
    m_cids.remove(cid);
    endRemoveRows();
    dayFlagMayHaveChanged(row);
}

void MessageModel::setPeerReceipts(qint64 delivered, qint64 read)
{
    const qint64 oldDelivered
        = std::exchange(m_peerDelivered, std::max(m_peerDelivered, delivered));
    const qint64 oldRead = std::exchange(m_peerRead, std::max(m_peerRead, read));
    if (oldDelivered == m_peerDelivered && oldRead == m_peerRead)
        return;
    // Only our stored messages above the old marks can change.
    const qint64 from = std::min(oldDelivered, oldRead) + 1;
    int first = -1;
    int last = -1;
    for (int row = int(m_messages.size()) - 1; row >= 0; --row) {
        const ChatMessage &m = m_messages.at(row);
        if (m.seq > 0 && m.seq < from)
            break;
        if (m.outgoing && m.seq > 0) {
            first = row;
            last = last < 0 ? row : last;
        }
    }
    if (first >= 0)
        Q_EMIT dataChanged(index(first), index(last));
}

qint64 MessageModel::oldestSeq() const
{
    for (const ChatMessage &m : m_messages) {
        if (m.seq > 0)
            return m.seq;
    }
    return 0;
}

qint64 MessageModel::newestSeq() const
{
    for (auto it = m_messages.crbegin(); it != m_messages.crend(); ++it) {
        if (it->seq > 0)
            return it->seq;
    }
    return 0;
}

int MessageModel::rowOfSeq(qint64 seq) const
{
    return seq > 0 ? findSeq(seq) : -1;
}

void MessageModel::setHighlightedSeq(qint64 seq)
{
    const int before = rowOfSeq(std::exchange(m_highlightSeq, seq));
    const int after = rowOfSeq(seq);
    for (const int row : {before, after}) {
        if (row >= 0)
            Q_EMIT dataChanged(index(row), index(row), {HighlightRole});
    }
}

ChatMessage MessageModel::message(int row) const
{
    if (row < 0 || row >= m_messages.size())
        return {};
    ChatMessage m = m_messages.at(row);
    m.state = shownState(m);
    return m;
}

MessageState MessageModel::shownState(const ChatMessage &m) const
{
    if (!m.outgoing || m.seq <= 0)
        return m.state;
    if (m.state == MessageState::Sent || m.state == MessageState::Delivered) {
        if (m.seq <= m_peerRead)
            return MessageState::Read;
        if (m.seq <= m_peerDelivered)
            return MessageState::Delivered;
    }
    return m.state;
}

int MessageModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_messages.size());
}

QVariant MessageModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const ChatMessage &m = m_messages.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        return m.body;
    case Qt::AccessibleTextRole: {
        const QString time = QLocale().toString(
            QDateTime::fromMSecsSinceEpoch(m.ts).toLocalTime(), QLocale::ShortFormat);
        return m.outgoing ? tr("You, %1: %2").arg(time, m.body)
                          : tr("%1, %2: %3").arg(m.from, time, m.body);
    }
    case MessageRole:
        return QVariant::fromValue(message(index.row()));
    case StateRole:
        return int(shownState(m));
    case OutgoingRole:
        return m.outgoing;
    case TimeRole:
        return QDateTime::fromMSecsSinceEpoch(m.ts).toLocalTime();
    case DayRole:
        return m_days.at(index.row());
    case ShowDayRole:
        return index.row() == 0 || m_days.at(index.row() - 1) != m_days.at(index.row());
    case CidRole:
        return m.cid;
    case SeqRole:
        return m.seq;
    case FailureRole:
        return m.failure;
    case HighlightRole:
        return m.seq > 0 && m.seq == m_highlightSeq;
    default:
        return {};
    }
}

QHash<int, QByteArray> MessageModel::roleNames() const
{
    QHash<int, QByteArray> names = QAbstractListModel::roleNames();
    names.insert(MessageRole, "message");
    names.insert(StateRole, "state");
    names.insert(OutgoingRole, "outgoing");
    names.insert(TimeRole, "time");
    names.insert(DayRole, "day");
    names.insert(ShowDayRole, "showDay");
    names.insert(CidRole, "cid");
    names.insert(SeqRole, "seq");
    names.insert(FailureRole, "failure");
    names.insert(HighlightRole, "highlight");
    return names;
}

// Searched from the newest end: updates are nearly always about recent messages.
int MessageModel::findCid(const QString &cid) const
{
    for (int row = int(m_messages.size()) - 1; row >= 0; --row) {
        if (m_messages.at(row).cid == cid)
            return row;
    }
    return -1;
}

int MessageModel::findSeq(qint64 seq) const
{
    const auto end = std::find_if(
        m_messages.cbegin(), m_messages.cend(), [](const ChatMessage &m) { return m.seq == 0; });
    const auto it = std::lower_bound(
        m_messages.cbegin(), end, seq, [](const ChatMessage &m, qint64 s) { return m.seq < s; });
    return it != end && it->seq == seq ? int(it - m_messages.cbegin()) : -1;
}

int MessageModel::insertionRow(const ChatMessage &message) const
{
    if (message.seq == 0)
        return int(m_messages.size()); // pending: after everything, in queue order
    int row = int(m_messages.size());
    while (row > 0) {
        const ChatMessage &before = m_messages.at(row - 1);
        if (before.seq > 0 && before.seq < message.seq)
            break;
        --row;
    }
    return row;
}

void MessageModel::insertAt(int row, const ChatMessage &message)
{
    beginInsertRows({}, row, row);
    m_messages.insert(row, message);
    m_days.insert(row, localDay(message.ts));
    m_cids.insert(message.cid);
    endInsertRows();
    dayFlagMayHaveChanged(row + 1);
}

// The row now following an insert or removal may start or stop a day.
void MessageModel::dayFlagMayHaveChanged(int row)
{
    if (row >= 0 && row < m_messages.size()) {
        const QModelIndex at = index(row);
        Q_EMIT dataChanged(at, at, {ShowDayRole});
    }
}

} // namespace parley::ui
