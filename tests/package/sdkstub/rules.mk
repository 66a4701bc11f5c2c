# Test double of the OpenWrt SDK's rules.mk: only what package/carp/Makefile
# uses, with the same values (install modes, cp and ln flags). Written for
# tests/package/test_sdk_makefile.py; TOPDIR is a temporary copy of this dir.
INCLUDE_DIR:=$(TOPDIR)/include
BUILD_DIR:=$(TOPDIR)/build_dir
STAGING_DIR:=$(TOPDIR)/staging_dir
INSTALL_BIN:=install -m0755
INSTALL_DIR:=install -d -m0755
INSTALL_DATA:=install -m0644
INSTALL_CONF:=install -m0600
CP:=cp -fpR
LN:=ln -sf
