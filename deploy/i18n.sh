#!/bin/sh
# Messages for the victims' pages: extract them from the code and templates, merge them into
# every language's catalogue, and check the catalogues compile. Run from the repository root
# after changing any text; then translate the new entries (at least en and es) in each .po.
# The service compiles the .po files itself when it starts (voice/web/i18n.py): nothing
# downloaded, no binary committed. `--check` only verifies that the .pot is current.
set -eu
LOCALES=voice/web/locales
LANGUAGES="en es fr pt ar ru so vi zh"
pybabel extract -F babel.cfg --no-location --sort-output \
  -k _ -k gettext -k ngettext:1,2 -o "$LOCALES/messages.pot" voice/
for lang in $LANGUAGES; do
  if [ -f "$LOCALES/$lang/LC_MESSAGES/messages.po" ]; then
    pybabel update --no-fuzzy-matching --ignore-obsolete -i "$LOCALES/messages.pot" \
      -d "$LOCALES" -l "$lang"
  else
    pybabel init -i "$LOCALES/messages.pot" -d "$LOCALES" -l "$lang"
  fi
done
pybabel compile --statistics -d "$LOCALES" -o /dev/null -l en -i "$LOCALES/en/LC_MESSAGES/messages.po"

# The same for the notices, text messages and replies (domain `notices`, babel-notices.cfg).
NOTICES=voice/notify/locales
pybabel extract -F babel-notices.cfg --no-location --sort-output \
  -k _ -k gettext -k ngettext:1,2 -k N_ -o "$NOTICES/notices.pot" voice/
for lang in $LANGUAGES; do
  if [ -f "$NOTICES/$lang/LC_MESSAGES/notices.po" ]; then
    pybabel update --no-fuzzy-matching --ignore-obsolete -D notices -i "$NOTICES/notices.pot" \
      -d "$NOTICES" -l "$lang"
  else
    pybabel init -D notices -i "$NOTICES/notices.pot" -d "$NOTICES" -l "$lang"
  fi
done
pybabel compile --statistics -D notices -d "$NOTICES" -o /dev/null -l es \
  -i "$NOTICES/es/LC_MESSAGES/notices.po"
