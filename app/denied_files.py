"""The attachments refused unless an operator says otherwise: the defaults of
`HELPDESK_ATTACHMENT_DENIED_*` (app/config.py) and of the attachment policy."""

from __future__ import annotations

# Gmail's blocked extensions: executables, scripts, installers and the containers
# used to smuggle them past a first look.
DEFAULT_DENIED_EXTENSIONS = tuple(
    """
    ade adp apk appx appxbundle bat cab chm cmd com cpl diagcab diagcfg diagpkg dll dmg
    ex ex_ exe hta img ins iso isp jar jnlp js jse lib lnk mde msc msi msix msixbundle
    msp mst nsh pif ps1 scr sct shb sys vb vbe vbs vhd vxd wsc wsf wsh xll
    """.split()  # noqa: SIM905 - a word list reads better than 57 quoted strings
)
DEFAULT_DENIED_TYPES = (
    "application/x-msdownload",
    "application/x-dosexec",
    "application/x-msdos-program",
    "application/vnd.microsoft.portable-executable",
    "application/x-executable",
    "application/x-elf",
    "application/x-mach-binary",
    "application/x-sharedlib",
    "application/x-msi",
    "application/x-ms-shortcut",
    "application/hta",
    "application/x-sh",
    "application/x-shellscript",
    "text/x-shellscript",
    "application/x-bat",
    "application/java-archive",
)
