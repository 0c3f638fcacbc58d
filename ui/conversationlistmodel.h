// The account's conversations, most recent first: the peer, their presence and typing,
// a preview of the last message, its time and the unread count. A plain model fed by
// the main window from Client's signals.
#pragma once

#include "chatmessage.h"
#include "client.h"

#include <QAbstractListModel>
#include <QHash>

namespace parley::ui {

class ConversationListModel : public QAbstractListModel
{
    Q_OBJECT
public:
    enum Role {
        ConversationRole = Qt::UserRole + 1, // conv id
        PeerRole,
        PreviewRole, // the last message's text ("You: " prefixed when ours)
        TimeRole, // QDateTime of the last message (invalid when none)
        UnreadRole,
        OnlineRole,
        TypingRole,
        LastSeenRole, // QDateTime, invalid when unknown or online
        InfoRole, // the ConversationInfo
    };

    explicit ConversationListModel(QObject *parent = nullptr);

    void setUser(const QString &user); // whose list this is ("You: " previews)
    void setConversations(const QList<client::ConversationInfo> &list);
    // A conversation as the client now knows it (added when new).
    void upsert(const client::ConversationInfo &info);
    // An empty conversation the user started (no message yet); returns its row.
    int ensure(const QString &conv, const QString &peer);
    // A message shown before the server stored it (ours, queued): it becomes the preview.
    void notePending(const client::ChatMessage &message);
    void setPresence(const QString &peer, const client::PeerPresence &presence);
    // Presence and typing are only known while connected; offline they are not shown.
    void setConnected(bool connected);
    void clear();

    int rowOf(const QString &conv) const;
    client::ConversationInfo info(int row) const;
    QStringList peers() const;
    int totalUnread() const;

    int rowCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

private:
    // Moves row to where its last-message time puts it; returns the new row.
    int reposition(int row);

    QString m_user;
    QList<client::ConversationInfo> m_rows; // newest lastTs first
    QHash<QString, client::PeerPresence> m_presence; // by peer
    bool m_connected = false;
};

} // namespace parley::ui
