// Ordering for one conversation: messages come out in seq order, exactly once, whatever
// order they arrive in (pushes, history pages, our own acks, a replay after reconnect).
// A plain class: no sockets, no database, no clock.
//
// It tracks the highest seq up to which everything is known (`contiguous`). A message
// at contiguous + 1 is released at once, with any held successors; a message further
// ahead is held and the caller is asked to fetch `history after contiguous`; anything at
// or below contiguous, or already held, is a duplicate and dropped. Gap entries (seqs
// the server skipped) advance contiguous like messages; they are released flagged `gap`
// so the cache can record them, and are never shown.
#pragma once

#include "chatmessage.h"

#include <QList>

#include <map>
#include <optional>

namespace parley::client {

class TimelineBuffer
{
public:
    // contiguous: the highest seq already held in the cache (0 for a new conversation).
    explicit TimelineBuffer(qint64 contiguous = 0);

    struct Result
    {
        QList<ChatMessage> released; // newly in order, ascending seq, gaps included
        // Ask the server for `history after <fetchAfter>`: set when something is missing
        // and no fetch for it is in flight already.
        std::optional<qint64> fetchAfter;
        int duplicates = 0; // dropped
    };

    Result add(const ChatMessage &message);
    // A history page (ascending seq; may overlap what is held); it ends the fetch in
    // flight. `more`: the server has more after this page; fetching continues from the
    // new contiguous. Without `more`, a fetch is asked again only if something is still
    // missing and this page moved contiguous: a page that fills nothing (the missing seq
    // is not readable yet) does not start a request loop; the next add() or knownLast()
    // asks again.
    Result addPage(const QList<ChatMessage> &messages, bool more);

    // The server says the conversation reaches lastSeq (sync, conversations list).
    Result knownLast(qint64 lastSeq);
    // A history request failed or the link dropped: allow a new fetch.
    void fetchAbandoned() { m_fetchInFlight = false; }
    // A fetch the caller starts on its own (asking again for a missing seq): the next
    // results do not ask for another until it ends (addPage or fetchAbandoned).
    void fetchStarted() { m_fetchInFlight = true; }
    // For a conversation first seen with a long history: start from `seq` (everything
    // at or below it is fetched on demand, not through this buffer). Returns what that
    // releases of the held messages (changed by the lead: it was void).
    Result skipTo(qint64 seq);

    qint64 contiguous() const { return m_contiguous; }
    qint64 knownLast() const { return m_knownLast; }
    int heldCount() const { return int(m_held.size()); }
    bool fetchInFlight() const { return m_fetchInFlight; }

private:
    // Holds a new seq (false: a duplicate, dropped).
    bool hold(const ChatMessage &message);
    // Takes the held messages that follow on from contiguous, advancing it.
    Result release();
    // Asks for `history after contiguous` when something is missing and none is in flight.
    void requestMissing(Result &result);

    qint64 m_contiguous = 0;
    qint64 m_knownLast = 0;
    std::map<qint64, ChatMessage> m_held; // seq > contiguous (contiguous + 1 only until released)
    bool m_fetchInFlight = false;
};

// Typing notifications as the protocol wants them: at most one `start` per 3 s while
// the user keeps typing, and a `stop` after 5 s without a keystroke (or when the
// message is sent or the text cleared, but never within 1 s of the start, which the
// server would drop).
class TypingThrottle
{
public:
    enum class Emit { Nothing, Start, Stop };
    // The user typed (composing = true) or cleared/sent (false) at nowMs.
    Emit input(bool composing, qint64 nowMs);
    // Called periodically (or at nextDeadlineMs): Stop once idle for 5 s.
    Emit tick(qint64 nowMs);
    qint64 nextDeadlineMs() const; // -1 when not typing
    static constexpr qint64 StartEveryMs = 3000;
    static constexpr qint64 IdleStopMs = 5000;
    static constexpr qint64 MinGapMs = 1000; // the server's typing limit per peer

private:
    bool m_typing = false;
    qint64 m_stopAtMs = -1; // a stop deferred to keep 1 s after the start
    qint64 m_lastStartMs = -1;
    qint64 m_lastInputMs = -1;
};

} // namespace parley::client
