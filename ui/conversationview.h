// The open conversation: the peer's name and presence, the messages (cached ones at
// once, older pages as the user scrolls up), the peer's typing indicator and the
// composer. It marks read only what was on screen while the window was active.
//
// It shows either the newest messages ("live": new ones are added as they come) or,
// after opening at a message far back (a search hit), a window of history around it
// that grows page by page as the user scrolls either way and turns live once it meets
// the newest messages. Only what the user scrolled through is ever loaded.
#pragma once

#include "chatmessage.h"
#include "client.h"

#include <QPointer>
#include <QWidget>

class QLabel;
class QListView;
class QTimer;
class QToolButton;

namespace parley::ui {

class Composer;
class MessageDelegate;
class MessageModel;

class ConversationView : public QWidget
{
    Q_OBJECT
public:
    explicit ConversationView(client::Client *client, QWidget *parent = nullptr);

    // Opens info's conversation at its newest messages, or at message atSeq.
    void open(const client::ConversationInfo &info, qint64 atSeq = 0);
    // Scrolls to message seq of the open conversation and points it out, loading the
    // history around it when it is not shown.
    void showMessage(qint64 seq);
    // Back to the newest messages.
    void showLatest();
    void closeConversation();
    // True when the newest messages are shown (not a window of older history).
    bool isLive() const { return m_live; }
    QString conversation() const;
    QString peer() const { return m_peer; }

    MessageModel *model() const { return m_model; }
    QListView *messageList() const { return m_list; }
    Composer *composer() const { return m_composer; }
    QLabel *typingLabel() const { return m_typing; }
    QLabel *noticeLabel() const { return m_notice; }
    QToolButton *latestButton() const { return m_latest; }

    static constexpr int PageSize = 50;
    // Messages loaded each side of one opened at, and per page of a window.
    static constexpr int Radius = PageSize / 2;
    static constexpr int HighlightMs = 2500;

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;
    bool event(QEvent *event) override; // the window became active: mark read

private:
    void send(const QString &body);
    void resetModel(bool live);
    void loadLatest();
    void loadOlder();
    void loadNewer();
    void goLive();
    void loadMore(); // older or newer pages while the screen is near an end of what is shown
    void focusRow(int row);
    void onRangeChanged(int min, int max);
    void updateLatestButton();
    bool isOnline() const;
    void scheduleReadMark();
    void markVisibleRead();
    void updatePeerLine();
    void showContextMenu(const QPoint &pos);
    void actOnCurrent(bool retry);

    QPointer<client::Client> m_client;
    MessageModel *m_model = nullptr;
    MessageDelegate *m_delegate = nullptr;
    QListView *m_list = nullptr;
    QLabel *m_peerName = nullptr;
    QLabel *m_peerState = nullptr;
    QLabel *m_typing = nullptr;
    Composer *m_composer = nullptr;
    QWidget *m_placeholder = nullptr;
    QWidget *m_body = nullptr;
    QLabel *m_notice = nullptr;
    QToolButton *m_latest = nullptr;
    QTimer *m_highlightTimer = nullptr;

    QString m_peer;
    // Each reset of the model starts a generation; answers for an older one are dropped.
    int m_generation = 0;
    bool m_live = true;
    qint64 m_floorSeq = 0; // older than this was never downloaded
    qint64 m_lastSeq = 0; // the newest seq the conversation has (server or cache)
    bool m_loadingOlder = false; // a page is on its way
    bool m_loadingNewer = false;
    bool m_atStart = false; // the first message is shown
    // Offline, history not cached cannot be loaded: wait for the connection.
    bool m_waitOnline = false;
    // Scrolling: stay at the bottom when there (live), keep the distance from the bottom
    // when a page is put in front, else keep the position.
    bool m_atBottom = true;
    bool m_prepended = false;
    int m_fromBottom = 0;
    bool m_readMarkScheduled = false;
    qint64 m_readSent = 0;
};

} // namespace parley::ui
