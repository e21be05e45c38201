"""The web layer the staff portal and the victims' self-service pages share.

The U.S. Web Design System's compiled assets (shipped in ``static/uswds``, refreshed by
``deploy/uswds/refresh.sh``), the base layout with the federal banner, the component macros,
and the HTML error pages. Pages are server-rendered and work without JavaScript.
"""
