"""Well-known App Store apps (real adam ids, bundle ids and platforms) for realistic catalogues."""

from __future__ import annotations

IOS = ("SUPPORTED_OS_IOS", "SUPPORTED_OS_IPADOS")
MAC = ("SUPPORTED_OS_MACOS",)
ALL = (*IOS, *MAC, "SUPPORTED_OS_VISIONOS")
# (adam id, name, bundle id, platforms)
APPS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("361309726", "Pages", "com.apple.Pages", ALL),
    ("361304891", "Numbers", "com.apple.Numbers", ALL),
    ("361285480", "Keynote", "com.apple.Keynote", ALL),
    ("310633997", "WhatsApp Messenger", "net.whatsapp.WhatsApp", IOS),
    ("618783545", "Slack", "com.tinyspeck.chatlyio", (*IOS, *MAC)),
    ("546505307", "Zoom Workplace", "us.zoom.videomeetings", IOS),
    ("586447913", "Microsoft Word", "com.microsoft.Office.Word", IOS),
    ("586683407", "Microsoft Excel", "com.microsoft.Office.Excel", IOS),
    ("1113153706", "Microsoft Teams", "com.microsoft.skype.teams", IOS),
    ("951937596", "Microsoft Outlook", "com.microsoft.Office.Outlook", IOS),
    ("477128284", "Microsoft OneDrive", "com.microsoft.skydrive", IOS),
    ("507874739", "Google Drive", "com.google.Drive", IOS),
    ("422689480", "Gmail", "com.google.Gmail", IOS),
    ("535886823", "Google Chrome", "com.google.chrome.ios", IOS),
    ("1274495053", "Microsoft To Do", "com.microsoft.to-do", IOS),
    ("1176895641", "Spark Mail", "com.readdle.smartemail", IOS),
    ("327630330", "Dropbox", "com.getdropbox.Dropbox", IOS),
    ("1232780281", "Notion", "notion.id", IOS),
    ("497799835", "Xcode", "com.apple.dt.Xcode", MAC),
    ("409183694", "Keynote for Mac", "com.apple.iWork.Keynote", MAC),
)
