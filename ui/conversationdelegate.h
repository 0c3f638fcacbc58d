// Paints one conversation in the list: an avatar with the peer's initial and a presence
// dot, the peer's name, the time of the last message, a preview of it (or "typing..."),
// and the unread count as a badge.
#pragma once

#include <QStyledItemDelegate>

namespace parley::ui {

class ConversationDelegate : public QStyledItemDelegate
{
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;

    void paint(QPainter *painter, const QStyleOptionViewItem &option,
        const QModelIndex &index) const override;
    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override;
};

// A colour of its own for each name (avatars), readable with white initials.
QColor avatarColor(const QString &name);
// What the conversation list and the search hits share: the style's own row background
// (selection, hover), and a round avatar with the name's initial, two lines high, at the
// row's left edge; returns where the avatar went.
void paintRowBackground(QPainter *painter, const QStyleOptionViewItem &option);
QRect paintAvatar(QPainter *painter, const QStyleOptionViewItem &option, const QString &name);
// The two text lines right of the avatar, with the colours and the small font both
// rows use for their second line.
struct RowText
{
    QRect top;
    QRect bottom;
    QColor ink; // the text colour (selected or not)
    QColor faint; // ink at 65%
    QFont small; // 90% of the row's font
};
// Paints the first line: the name in bold on the left, elided before the time, which
// stands on the right in the small font, faint.
RowText paintRowHeader(QPainter *painter, const QStyleOptionViewItem &option, const QRect &avatar,
    const QString &name, const QDateTime &time);
// The time of day in the user's locale, without seconds ("14:05", "2:05 PM").
QString clockText(const QTime &time);
// "14:05" today, "Yesterday", a weekday within a week, else a short date.
QString shortTimeText(const QDateTime &time);

} // namespace parley::ui
