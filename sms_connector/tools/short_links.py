"""Short, tracked links in SMS bodies: fewer characters and click statistics."""


def shorten_sms_links(env, bodies):
    """Replace the URLs of ``bodies`` (dict key -> text) by link tracker short URLs, in place.

    :return: ``bodies``
    """
    medium = env.ref('mass_mailing_sms.utm_medium_sms', raise_if_not_found=False)
    tracker_vals = {'medium_id': medium.id} if medium else {}
    render = env['mail.render.mixin'].sudo()
    for key, body in bodies.items():
        if body and '://' in body:
            bodies[key] = render._shorten_links_text(body, tracker_vals)
    return bodies
