import { registry } from "@web/core/registry";

// Driven by tests/test_conversation_tour.py: a contact who answered an SMS is opened by the start URL.
registry.category("web_tour.tours").add("sms_connector_conversation_tour", {
    steps: () => [
        {
            content: "Show all smart buttons (the form has more than fit)",
            trigger: ".o_form_view .o-form-buttonbox .o_button_more",
            run: "click",
        },
        {
            content: "Open the conversation from the contact's smart button",
            trigger: ".o-form-buttonbox button[name=action_view_sms_conversation]",
            run: "click",
        },
        {
            content: "Our SMS is in the thread",
            trigger: ".modal .o_sms_bubble_outbound:contains(Your order is ready)",
        },
        {
            content: "Their answer comes after it, escaped",
            trigger: ".modal .o_sms_bubble_inbound:contains(<b>Tomorrow</b> works)",
        },
        {
            content: "Write the answer in the reply box",
            trigger: ".modal .o_field_widget[name=body] textarea",
            run: "edit See you tomorrow at 10",
        },
        {
            content: "Send it",
            trigger: ".modal .modal-footer button[name=action_send]",
            run: "click",
        },
        {
            content: "The answer is at the bottom of the thread",
            trigger: ".modal .o_sms_bubble_outbound:last:contains(See you tomorrow at 10)",
        },
    ],
});

// The activity menu counts unmatched replies and opens SMS > Inbox on them.
registry.category("web_tour.tours").add("sms_connector_inbox_counter_tour", {
    steps: () => [
        {
            content: "Open the activity menu",
            trigger: ".o_menu_systray .o-mail-ActivityMenu-counter",
            run: "click",
        },
        {
            content: "Open the SMS Inbox line",
            trigger: ".o-mail-ActivityGroup[data-model_name='sms.message']:contains(1 to triage)",
            run: "click",
        },
        {
            content: "The Inbox lists the reply to triage",
            trigger: ".o_list_view .o_data_row .o_data_cell:contains(Who is this?)",
        },
    ],
});
