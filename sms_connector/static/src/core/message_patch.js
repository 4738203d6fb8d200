import { Message } from "@mail/core/common/message";
import { user } from "@web/core/user";
import { patch } from "@web/core/utils/patch";

/**
 * A failure on one of our gateways opens that gateway for SMS managers, where Odoo would open
 * its IAP account ("Unregistered Account").
 */
patch(Message.prototype, {
    async onClickNotification(ev) {
        const failure = this.message.notification_ids.find(
            (notification) => notification.isFailure && notification.sms_connector_gateway_id
        );
        if (
            this.message.message_type === "sms" &&
            failure &&
            (await user.hasGroup("sms_connector.group_sms_manager"))
        ) {
            this.env.services.action.doAction({
                type: "ir.actions.act_window",
                res_model: "sms.gateway",
                res_id: failure.sms_connector_gateway_id,
                views: [[false, "form"]],
                target: "current",
            });
            return;
        }
        return super.onClickNotification(ev);
    },
});
