"""The web console: Apple's portal, the device's Setup Assistant and the developer's view (issue 13).

Server-rendered Jinja2 pages under /console over the same service functions as the control API.
"""
