import { ActivityMenu } from "@mail/core/web/activity_menu";
import { patch } from "@web/core/utils/patch";

/**
 * The activity menu's "SMS Inbox" line (replies to triage) opens SMS > Inbox on them, with its
 * own views, instead of a generic activity view of the SMS log.
 */
patch(ActivityMenu.prototype, {
    openActivityGroup(group, filter = "all", newWindow) {
        if (group.model !== "sms.message") {
            return super.openActivityGroup(group, filter, newWindow);
        }
        this.dropdown.close();
        this.action.doAction("sms_connector.sms_message_action_inbox", {
            newWindow,
            clearBreadcrumbs: true,
            additionalContext: { search_default_to_triage: 1 },
        });
    },
});
