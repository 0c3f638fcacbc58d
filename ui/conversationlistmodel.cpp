#include "conversationlistmodel.h"

#include <QDateTime>

using namespace Qt::StringLiterals;
using parley::client::ChatMessage;
using parley::client::ConversationInfo;
using parley::client::PeerPresence;

namespace parley::ui {

namespace {

bool newerFirst(const ConversationInfo &a, const ConversationInfo &b)
{
    if (a.lastTs != b.lastTs)
        return a.lastTs > b.lastTs;
    return a.peer < b.peer;
}

} // namespace

ConversationListModel::ConversationListModel(QObject *parent)
    : QAbstractListModel(parent)
{ }

void ConversationListModel::setUser(const QString &user)
{
    m_user = user;
}

void ConversationListModel::setConversations(const QList<ConversationInfo> &list)
{
    beginResetModel();
    m_rows = list;
    std::sort(m_rows.begin(), m_rows.end(), newerFirst);
    endResetModel();
}

void ConversationListModel::upsert(const ConversationInfo &info)
{
    int row = rowOf(info.conv);
    if (row < 0) {
        beginInsertRows({}, int(m_rows.size()), int(m_rows.size()));
        m_rows.append(info);
        endInsertRows();
        reposition(int(m_rows.size()) - 1);
        return;
    }
    ConversationInfo merged = info;
    // The client's copy lacks the preview of a message only we know about yet.
    if (merged.lastBody.isEmpty() || merged.lastTs < m_rows.at(row).lastTs) {
        merged.lastBody = m_rows.at(row).lastBody;
        merged.lastFrom = m_rows.at(row).lastFrom;
        merged.lastTs = std::max(merged.lastTs, m_rows.at(row).lastTs);
    }
    m_rows[row] = merged;
    row = reposition(row);
    Q_EMIT dataChanged(index(row), index(row));
}

int ConversationListModel::ensure(const QString &conv, const QString &peer)
{
    const int row = rowOf(conv);
    if (row >= 0)
        return row;
    ConversationInfo info;
    info.conv = conv;
    info.peer = peer;
    info.lastTs = QDateTime::currentMSecsSinceEpoch(); // a new conversation goes on top
    upsert(info);
    return rowOf(conv);
}

void ConversationListModel::notePending(const ChatMessage &message)
{
    int row = rowOf(message.conv);
    if (row < 0)
        return;
    ConversationInfo &info = m_rows[row];
    info.lastBody = message.body;
    info.lastFrom = message.from;
    info.lastTs = std::max(info.lastTs, message.ts);
    row = reposition(row);
    Q_EMIT dataChanged(index(row), index(row));
}

void ConversationListModel::setPresence(const QString &peer, const PeerPresence &presence)
{
    m_presence.insert(peer, presence);
    for (int row = 0; row < m_rows.size(); ++row) {
        if (m_rows.at(row).peer == peer)
            Q_EMIT dataChanged(index(row), index(row), {OnlineRole, TypingRole, LastSeenRole});
    }
}

void ConversationListModel::setConnected(bool connected)
{
    if (std::exchange(m_connected, connected) == connected || m_rows.isEmpty())
        return;
    Q_EMIT dataChanged(
        index(0), index(int(m_rows.size()) - 1), {OnlineRole, TypingRole, LastSeenRole});
}

void ConversationListModel::clear()
{
    beginResetModel();
    m_rows.clear();
    m_presence.clear();
    endResetModel();
}

int ConversationListModel::rowOf(const QString &conv) const
{
    for (int row = 0; row < m_rows.size(); ++row) {
        if (m_rows.at(row).conv == conv)
            return row;
    }
    return -1;
}

ConversationInfo ConversationListModel::info(int row) const
{
    return row >= 0 && row < m_rows.size() ? m_rows.at(row) : ConversationInfo {};
}

QStringList ConversationListModel::peers() const
{
    QStringList list;
    for (const ConversationInfo &info : m_rows)
        list.append(info.peer);
    return list;
}

int ConversationListModel::totalUnread() const
{
    int total = 0;
    for (const ConversationInfo &info : m_rows)
        total += info.unread;
    return total;
}

int ConversationListModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

QVariant ConversationListModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const ConversationInfo &info = m_rows.at(index.row());
    const PeerPresence presence = m_connected ? m_presence.value(info.peer) : PeerPresence {};
    switch (role) {
    case Qt::DisplayRole:
    case PeerRole:
        return info.peer;
    case Qt::AccessibleTextRole: {
        QString text = info.peer;
        if (presence.online)
            text += u", "_s + tr("online");
        if (info.unread > 0)
            text += u", "_s + tr("%n unread", nullptr, info.unread);
        return text;
    }
    case ConversationRole:
        return info.conv;
    case PreviewRole:
        if (info.lastBody.isEmpty())
            return QString();
        return info.lastFrom == m_user ? tr("You: %1").arg(info.lastBody) : info.lastBody;
    case TimeRole:
        return info.lastBody.isEmpty() ? QDateTime()
                                       : QDateTime::fromMSecsSinceEpoch(info.lastTs).toLocalTime();
    case UnreadRole:
        return info.unread;
    case OnlineRole:
        return presence.online;
    case TypingRole:
        return presence.typing;
    case LastSeenRole:
        return presence.online || presence.lastSeen <= 0
            ? QDateTime()
            : QDateTime::fromMSecsSinceEpoch(presence.lastSeen).toLocalTime();
    case InfoRole:
        return QVariant::fromValue(info);
    default:
        return {};
    }
}

QHash<int, QByteArray> ConversationListModel::roleNames() const
{
    QHash<int, QByteArray> names = QAbstractListModel::roleNames();
    names.insert(ConversationRole, "conversation");
    names.insert(PeerRole, "peer");
    names.insert(PreviewRole, "preview");
    names.insert(TimeRole, "time");
    names.insert(UnreadRole, "unread");
    names.insert(OnlineRole, "online");
    names.insert(TypingRole, "typing");
    names.insert(LastSeenRole, "lastSeen");
    names.insert(InfoRole, "info");
    return names;
}

int ConversationListModel::reposition(int row)
{
    // The others are sorted: the ones newer than this row all go before it.
    int newRow = 0;
    for (int i = 0; i < m_rows.size(); ++i) {
        if (i != row && newerFirst(m_rows.at(i), m_rows.at(row)))
            ++newRow;
    }
    if (newRow == row)
        return row;
    beginMoveRows({}, row, row, {}, newRow > row ? newRow + 1 : newRow);
    m_rows.move(row, newRow);
    endMoveRows();
    return newRow;
}

} // namespace parley::ui
