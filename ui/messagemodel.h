// The messages of the open conversation, oldest first: what the cache holds (loaded a
// page at a time, older pages prepended as the user scrolls up; or a window of older
// history around a search hit, growing both ways), then our messages not yet
// acknowledged, in the order they were queued. A plain model fed by the
// conversation view from Client's signals, so it can be tested without a server.
#pragma once

#include "chatmessage.h"

#include <QAbstractListModel>
#include <QDate>
#include <QSet>

namespace parley::ui {

class MessageModel : public QAbstractListModel
{
    Q_OBJECT
public:
    enum Role {
        MessageRole = Qt::UserRole + 1, // the ChatMessage, with its shown state
        StateRole, // client::MessageState (int)
        OutgoingRole,
        TimeRole, // QDateTime, local time
        DayRole, // QDate, local
        ShowDayRole, // true for the first message of a day: the delegate draws a header
        CidRole,
        SeqRole,
        FailureRole,
        HighlightRole, // true for the message a search opened at, for a moment
    };

    explicit MessageModel(QObject *parent = nullptr);

    // Empties the model for another conversation; the peer's receipts so far decide
    // which of our messages show as delivered or read.
    void reset(const QString &conv, qint64 peerDelivered = 0, qint64 peerRead = 0);
    QString conversation() const { return m_conv; }

    // A page from the cache or the server, ascending; merged with what is shown
    // (anything already present is skipped).
    void addPage(const QList<client::ChatMessage> &messages);
    // One message entering the timeline (Client::messageAdded).
    void add(const client::ChatMessage &message);
    // A message changed state (Client::messageChanged): found by cid, else by seq.
    void update(const client::ChatMessage &message);
    void remove(const QString &cid);
    // The peer's receipts (Client::conversationChanged): our messages up to these seqs
    // show as delivered / read.
    void setPeerReceipts(qint64 delivered, qint64 read);

    qint64 oldestSeq() const; // 0 when nothing stored is shown
    qint64 newestSeq() const; // the newest stored message shown; 0 when none
    int rowOfSeq(qint64 seq) const; // -1 when not shown
    qint64 peerDelivered() const { return m_peerDelivered; }
    qint64 peerRead() const { return m_peerRead; }
    // The message to point out (a search hit opened); 0: none.
    void setHighlightedSeq(qint64 seq);
    qint64 highlightedSeq() const { return m_highlightSeq; }
    client::ChatMessage message(int row) const;
    // The state to show: the stored one, moved forward by the peer's receipts.
    client::MessageState shownState(const client::ChatMessage &message) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

private:
    int findCid(const QString &cid) const;
    int findSeq(qint64 seq) const;
    int insertionRow(const client::ChatMessage &message) const;
    void insertAt(int row, const client::ChatMessage &message);
    void dayFlagMayHaveChanged(int row);

    QString m_conv;
    qint64 m_peerDelivered = 0;
    qint64 m_peerRead = 0;
    qint64 m_highlightSeq = 0;
    // Stored messages by seq, then pending ones (seq 0) in queue order.
    QList<client::ChatMessage> m_messages;
    // Each message's local day, computed once: time zone conversions are slow, and the
    // view asks for every row's day header on each layout.
    QList<QDate> m_days;
    QSet<QString> m_cids; // every cid shown: a page of new messages is checked in O(1) each
};

QDate localDay(qint64 msSinceEpoch);

} // namespace parley::ui
