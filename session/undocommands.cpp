#include "undocommands.h"

#include "graph/site.h"

#include <QCoreApplication>

namespace sparsity {

namespace {

QString describe(SiteField field, const QString &site, double value)
{
    switch (field) {
    case SiteField::Threshold:
        return QCoreApplication::translate("ChangeSiteValue", "Set threshold of %1 to %2").arg(site).arg(value, 0, 'g', 4);
    case SiteField::Scope:
        return value != 0.0 ? QCoreApplication::translate("ChangeSiteValue", "Add %1 to the regularization scope").arg(site)
                            : QCoreApplication::translate("ChangeSiteValue", "Remove %1 from the regularization scope").arg(site);
    case SiteField::Band:
        return QCoreApplication::translate("ChangeSiteValue", "Set near-zero band of %1 to %2").arg(site).arg(value, 0, 'g', 4);
    }
    return {};
}

} // namespace

ChangeSiteValue::ChangeSiteValue(Session *doc, SiteField field, int site, double value, int mergeSession)
    : doc_(doc), field_(field), site_(site), old_(doc->siteValue(field, site)), new_(value),
      oldChannels_(field == SiteField::Threshold ? doc->channelThresholds()[std::size_t(site)] : std::vector<float>()),
      session_(mergeSession)
{
    setText(describe(field, QString::fromStdString(doc->sites()[std::size_t(site)].name), value));
}

void ChangeSiteValue::undo()
{
    doc_->setSiteValue(field_, site_, old_);
    if (!oldChannels_.empty())
        doc_->setSiteChannelThresholds(site_, oldChannels_);
}

void ChangeSiteValue::redo()
{
    if (!oldChannels_.empty())
        doc_->setSiteChannelThresholds(site_, {});
    doc_->setSiteValue(field_, site_, new_);
}

bool ChangeSiteValue::mergeWith(const QUndoCommand *other)
{
    const auto *o = static_cast<const ChangeSiteValue *>(other);
    if (session_ == 0 || o->session_ != session_ || o->site_ != site_ || o->field_ != field_)
        return false;
    new_ = o->new_;
    setText(o->text());
    return true;
}

ChangeThresholds::ChangeThresholds(Session *doc, std::vector<float> thresholds, std::vector<std::vector<float>> channels,
                                   const QString &text)
    : doc_(doc), old_(doc->thresholds()), new_(std::move(thresholds)), oldChannels_(doc->channelThresholds()),
      newChannels_(std::move(channels))
{
    newChannels_.resize(oldChannels_.size());
    setText(text);
}

void ChangeThresholds::undo()
{
    doc_->setThresholds(old_);
    for (std::size_t s = 0; s < oldChannels_.size(); ++s)
        doc_->setSiteChannelThresholds(int(s), oldChannels_[s]);
}

void ChangeThresholds::redo()
{
    for (std::size_t s = 0; s < newChannels_.size(); ++s)
        doc_->setSiteChannelThresholds(int(s), newChannels_[s]);
    doc_->setThresholds(new_);
}

ApplyTraining::ApplyTraining(Session *doc, std::shared_ptr<Model> model, std::vector<float> thresholds,
                             std::vector<std::vector<float>> channelThresholds, const QString &text)
    : doc_(doc), oldModel_(doc->currentModel()), newModel_(std::move(model)), old_(doc->thresholds()),
      new_(std::move(thresholds)), oldChannels_(doc->channelThresholds()), newChannels_(std::move(channelThresholds))
{
    setText(text);
}

} // namespace sparsity
