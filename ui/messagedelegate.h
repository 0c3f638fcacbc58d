// Paints the open conversation: a bubble per message (ours on the right in the accent
// colour, theirs on the left), a day header above the first message of each day, the
// time and, on ours, the delivery state; a failed message offers Retry and Delete.
// Bubbles differ in height, so size hints are cached per message and view width: a
// long conversation lays out without measuring its text again.
#pragma once

#include <QHash>
#include <QStyledItemDelegate>

class QTextLayout;

namespace parley::ui {

class MessageDelegate : public QStyledItemDelegate
{
    Q_OBJECT
public:
    explicit MessageDelegate(QObject *parent = nullptr);

    void paint(QPainter *painter, const QStyleOptionViewItem &option,
        const QModelIndex &index) const override;
    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override;
    bool editorEvent(QEvent *event, QAbstractItemModel *model, const QStyleOptionViewItem &option,
        const QModelIndex &index) override;

    // What the user can click on a message, if anything, at a point in the view.
    enum class Action { None, Retry, Delete };
    Action actionAt(
        const QStyleOptionViewItem &option, const QModelIndex &index, const QPoint &pos) const;
    void clearSizeCache() { m_sizes.clear(); }
    int cachedSizeCount() const { return int(m_sizes.size()); }

Q_SIGNALS:
    void retryRequested(const QString &cid);
    void deleteRequested(const QString &cid);

private:
    struct Layout;
    Layout layout(const QStyleOptionViewItem &option, const QModelIndex &index) const;

    // What the height depends on besides the message: checked on every hit.
    struct CachedSize
    {
        int width = 0;
        bool dayHeader = false;
        int state = 0;
        QSize size;
    };
    mutable QHash<QString, CachedSize> m_sizes;
};

// Everything a bubble says besides the text: the time and, for ours, the state.
QString messageFooterText(const QModelIndex &index);

} // namespace parley::ui
