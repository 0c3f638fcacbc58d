#include "chatmessage.h"

namespace parley::client {

QString messageStateName(MessageState state)
{
    switch (state) {
    case MessageState::Queued:
        return QStringLiteral("queued");
    case MessageState::Sending:
        return QStringLiteral("sending");
    case MessageState::Sent:
        return QStringLiteral("sent");
    case MessageState::Delivered:
        return QStringLiteral("delivered");
    case MessageState::Read:
        return QStringLiteral("read");
    case MessageState::Failed:
        return QStringLiteral("failed");
    case MessageState::Received:
        return QStringLiteral("received");
    }
    return {};
}

} // namespace parley::client
