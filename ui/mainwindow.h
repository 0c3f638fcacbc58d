// The main window: the connection banner, the conversation list (or, while searching,
// the search results in its place) and the open conversation. It notifies about new messages while
// in the background (tray message, unread count in the title) and offers new conversation, settings
// and quit.
#pragma once

#include "chatmessage.h"
#include "client.h"
#include "search.h"

#include <QMainWindow>
#include <QPointer>

class QLabel;
class QAction;
class QListView;
class QPushButton;
class QSystemTrayIcon;
class QTimer;

namespace parley::ui {

class ConversationListModel;
class ConversationView;
class SearchPanel;

class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    explicit MainWindow(client::Client *client, const QString &profile, QWidget *parent = nullptr);

    // Opens (or starts) the conversation with this user.
    void openConversationWith(const QString &peer);
    void setNotificationsEnabled(bool enabled) { m_notify = enabled; }
    // The conversation open when the window was last used (restored on the next start).
    void setLastConversation(const QString &conv) { m_restoreConv = conv; }
    QString currentConversation() const;
    // Opens the hit's conversation at its message (a search result chosen).
    void openSearchHit(const client::SearchHit &hit);
    // Ctrl+F: search the open conversation (all of them when none is open); Ctrl+K:
    // search every conversation.
    void startSearch(bool inConversation);

    ConversationListModel *conversations() const { return m_conversations; }
    QListView *conversationList() const { return m_list; }
    ConversationView *conversationView() const { return m_view; }
    SearchPanel *searchPanel() const { return m_search; }
    QAction *findAction() const { return m_findAction; }
    QAction *searchAllAction() const { return m_searchAllAction; }
    QWidget *banner() const { return m_banner; }
    QLabel *bannerText() const { return m_bannerText; }
    QPushButton *reconnectButton() const { return m_reconnect; }
    int notificationsShown() const { return m_notificationsShown; }

    static constexpr int NotificationDelayMs = 400; // a burst of messages is one notification

Q_SIGNALS:
    void settingsRequested();
    void conversationOpened(const QString &conv);

private:
    void buildMenus();
    void reload(const QString &user);
    void onStateChanged(client::ConnectionState state);
    void onMessageAdded(const client::ChatMessage &message);
    void onCurrentChanged(const QModelIndex &current);
    void newConversation();
    void stepConversation(int delta);
    void showNotification();
    void updateTitle();
    void endSearch();

    QPointer<client::Client> m_client;
    QString m_profile;
    ConversationListModel *m_conversations = nullptr;
    QListView *m_list = nullptr;
    ConversationView *m_view = nullptr;
    SearchPanel *m_search = nullptr;
    QAction *m_findAction = nullptr;
    QAction *m_searchAllAction = nullptr;
    QPointer<QWidget> m_focusBeforeSearch; // gets the focus back when the search ends
    qint64 m_openAtSeq = 0; // the message to open the conversation being selected at
    QWidget *m_banner = nullptr;
    QLabel *m_bannerText = nullptr;
    QPushButton *m_reconnect = nullptr;
    QSystemTrayIcon *m_tray = nullptr;
    QTimer *m_notifyTimer = nullptr;
    QList<client::ChatMessage> m_unnotified; // arrived in the background, not yet notified
    bool m_notify = true;
    int m_notificationsShown = 0;
    QString m_restoreConv;
};

} // namespace parley::ui
