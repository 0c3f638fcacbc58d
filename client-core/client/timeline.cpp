#include "timeline.h"

#include <algorithm>

namespace parley::client {

TimelineBuffer::TimelineBuffer(qint64 contiguous)
    : m_contiguous(contiguous)
    , m_knownLast(contiguous)
{ }

TimelineBuffer::Result TimelineBuffer::add(const ChatMessage &message)
{
    const bool fresh = hold(message);
    Result result = release();
    if (!fresh)
        result.duplicates = 1;
    requestMissing(result);
    return result;
}

TimelineBuffer::Result TimelineBuffer::addPage(const QList<ChatMessage> &messages, bool more)
{
    m_fetchInFlight = false; // this page answers it
    const qint64 before = m_contiguous;
    int duplicates = 0;
    for (const ChatMessage &message : messages) {
        if (!hold(message))
            ++duplicates;
    }
    Result result = release();
    result.duplicates = duplicates;
    if (more) {
        result.fetchAfter = m_contiguous;
        m_fetchInFlight = true;
    } else if (m_contiguous > before) {
        requestMissing(result);
    }
    return result;
}

TimelineBuffer::Result TimelineBuffer::knownLast(qint64 lastSeq)
{
    m_knownLast = std::max(m_knownLast, lastSeq);
    Result result = release();
    requestMissing(result);
    return result;
}

TimelineBuffer::Result TimelineBuffer::skipTo(qint64 seq)
{
    if (seq > m_contiguous) {
        m_contiguous = seq;
        m_knownLast = std::max(m_knownLast, seq);
        m_held.erase(m_held.begin(), m_held.upper_bound(seq));
    }
    Result result = release();
    requestMissing(result);
    return result;
}

bool TimelineBuffer::hold(const ChatMessage &message)
{
    if (message.seq <= m_contiguous || m_held.contains(message.seq))
        return false;
    m_held.emplace(message.seq, message);
    m_knownLast = std::max(m_knownLast, message.seq);
    return true;
}

TimelineBuffer::Result TimelineBuffer::release()
{
    Result result;
    while (!m_held.empty() && m_held.begin()->first == m_contiguous + 1) {
        const auto next = m_held.begin();
        result.released.append(next->second);
        m_contiguous = next->first;
        m_held.erase(next);
    }
    return result;
}

void TimelineBuffer::requestMissing(Result &result)
{
    if (m_fetchInFlight || m_knownLast <= m_contiguous)
        return;
    result.fetchAfter = m_contiguous;
    m_fetchInFlight = true;
}

TypingThrottle::Emit TypingThrottle::input(bool composing, qint64 nowMs)
{
    if (!composing) {
        if (!m_typing)
            return Emit::Nothing;
        m_typing = false;
        // The server forwards at most one typing frame per second per peer; a stop right
        // behind its start would be dropped and the peer would see "typing" for seconds.
        if (nowMs - m_lastStartMs < MinGapMs) {
            m_stopAtMs = m_lastStartMs + MinGapMs;
            return Emit::Nothing;
        }
        return Emit::Stop;
    }
    m_lastInputMs = nowMs;
    if (m_stopAtMs >= 0) {
        // Typing again before the deferred stop went out: the peer still sees it.
        m_stopAtMs = -1;
        m_typing = true;
    }
    // The peer drops the indicator after a few seconds without a start: repeat it.
    if (m_typing && nowMs - m_lastStartMs < StartEveryMs)
        return Emit::Nothing;
    m_typing = true;
    m_lastStartMs = nowMs;
    return Emit::Start;
}

TypingThrottle::Emit TypingThrottle::tick(qint64 nowMs)
{
    if (m_stopAtMs >= 0 && nowMs >= m_stopAtMs) {
        m_stopAtMs = -1;
        return Emit::Stop;
    }
    if (!m_typing || nowMs - m_lastInputMs < IdleStopMs)
        return Emit::Nothing;
    m_typing = false;
    return Emit::Stop;
}

qint64 TypingThrottle::nextDeadlineMs() const
{
    if (m_stopAtMs >= 0)
        return m_stopAtMs;
    return m_typing ? m_lastInputMs + IdleStopMs : -1;
}

} // namespace parley::client
