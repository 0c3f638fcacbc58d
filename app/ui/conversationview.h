// The open conversation: the peer's name and presence, the messages (cached ones at
// once, older pages as the user scrolls up), the peer's typing indicator and the
// composer. It marks read only what was on screen while the window was active.
#pragma once

#include "chatmessage.h"
#include "client.h"

#include <QPointer>
#include <QWidget>

class QLabel;
class QListView;

namespace parley::ui {

class Composer;
class MessageDelegate;
class MessageModel;

class ConversationView : public QWidget
{
    Q_OBJECT
public:
    explicit ConversationView(client::Client *client, QWidget *parent = nullptr);

    void open(const client::ConversationInfo &info);
    void closeConversation();
    QString conversation() const;
    QString peer() const { return m_peer; }

    MessageModel *model() const { return m_model; }
    QListView *messageList() const { return m_list; }
    Composer *composer() const { return m_composer; }
    QLabel *typingLabel() const { return m_typing; }

    static constexpr int PageSize = 50;

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;
    bool event(QEvent *event) override; // the window became active: mark read

private:
    void send(const QString &body);
    void loadOlder();
    void onOlderLoaded(const QString &conv, const QList<client::ChatMessage> &messages);
    void onRangeChanged(int min, int max);
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

    QString m_peer;
    qint64 m_floorSeq = 0; // older than this is on the server only
    bool m_loadingOlder = false; // a cache read or a server page is on its way
    bool m_atStart = false; // the first message is shown
    // Scrolling: stay at the bottom when there, or keep the distance from the bottom
    // when a page is put in front.
    bool m_atBottom = true;
    int m_fromBottom = 0;
    bool m_readMarkScheduled = false;
    qint64 m_readSent = 0;
};

} // namespace parley::ui
